import { HOME, PASSWORD, expect, hydrated, newEmail, open, signOut, signUp, test } from '../support/fixtures';

test('sign up, see the email at home, sign out, sign in again', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await expect(page.getByLabel('Account menu')).toBeVisible();

  await signOut(page);
  await expect(page.getByRole('heading', { name: 'Sign in to Latchkey' })).toBeVisible();

  await page.getByLabel('Email').fill(email.toUpperCase());
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  await hydrated(page);
  await expect(page.getByTestId('account-email')).toHaveText(email);
});

test('a wrong password shows an error and keeps the visitor on sign-in', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await signOut(page);

  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not my password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Email or password is incorrect.' })).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in/);
});

test('a private page sends a signed-out visitor to sign-in and back after', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await signOut(page);

  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in\?next=%2F$|\/sign-in\?next=\/$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  await expect(page.getByTestId('account-email')).toHaveText(email);
});

test('sign-up explains what is wrong next to the field', async ({ page }) => {
  await open(page, '/sign-up');
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Email').focus();
  await expect(page.getByText('Use at least 8 characters; 12 or more is better.').first()).toBeVisible();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/sign-up/);
});

test('a signed-in visitor opening sign-in is sent home', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await page.goto('/sign-in');
  await expect(page).toHaveURL(HOME);
  await expect(page.getByTestId('account-email')).toHaveText(email);
});
