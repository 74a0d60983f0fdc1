import { HOME, PASSWORD, expect, hydrated, newEmail, open, signOut, signUp, test } from '../support/fixtures';

const NEW_PASSWORD = 'a brand new passphrase';

test('change the password, then sign in with the new one', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await open(page, '/settings');
  await page.getByLabel('Current password').fill('not it');
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your current password is not correct.')).toBeVisible();

  // The form is posted by the browser and comes back from the server, which never echoes passwords.
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toHaveText('Password changed');

  await signOut(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  await expect(page.getByTestId('account-email')).toHaveText(email);
});

test('delete the account with its password', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await open(page, '/settings');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Delete account' }).click();
  await page.waitForURL(/\/sign-up/);
  await hydrated(page);
  await open(page, '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Email or password is incorrect.' })).toBeVisible();
});
