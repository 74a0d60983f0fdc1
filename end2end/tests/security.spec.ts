import path from 'node:path';
import * as OTPAuth from 'otpauth';
import { HOME, PASSWORD, expect, hydrated, linkIn, mailTo, newEmail, open, signOut, signUp, test, shoot } from '../support/fixtures';
import type { Page } from '@playwright/test';

/** A code from the shown secret, computed by otpauth (not the server's library), `steps` periods ahead. */
function totpCode(secret: string, steps = 0): string {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
  return totp.generate({ timestamp: Date.now() + steps * 30_000 });
}

async function signInWithPassword(page: Page, email: string, password = PASSWORD): Promise<void> {
  await open(page, '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('reset a forgotten password from the link in the delivered mail', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await signOut(page);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.waitForURL(/\/forgot-password$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page.getByTestId('reset-sent')).toBeVisible();

  const mail = await mailTo(email, 'Reset your Latchkey password');
  expect(mail.html).toContain('Choose a new password');
  const link = linkIn(mail.text, `${new URL(page.url()).origin}/reset-password/`);
  await open(page, link);
  await page.getByLabel('New password', { exact: true }).fill('a passphrase from the reset link');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.getByTestId('reset-done')).toBeVisible();

  // The link works once.
  await open(page, link);
  await expect(page.getByTestId('reset-unusable')).toBeVisible();

  await signInWithPassword(page, email, 'a passphrase from the reset link');
  await page.waitForURL(HOME);
  const notice = await mailTo(email, 'Your Latchkey password was reset');
  expect(notice.text).toContain('cannot be turned off');
  // The notice as a mail client shows its HTML part, in a blank page of its own (the portal's CSP, rightly,
  // forbids the inline styles mail needs).
  const mailView = await page.context().newPage();
  await mailView.setContent(notice.html);
  await expect(mailView.getByRole('heading', { name: 'Your Latchkey password was reset' })).toBeVisible();
  await shoot(mailView, 'notice-email');
  await mailView.close();
});

test('turn on two-factor sign-in, then sign in with a code and with a recovery code', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await open(page, '/settings');
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' }).locator('svg')).toBeVisible();
  await shoot(page, 'two-factor-enrolment');
  await page.getByLabel('Code', { exact: true }).fill(totpCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const codes = page.getByTestId('recovery-codes').locator('li code');
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.first().textContent()) ?? '';
  await shoot(page, 'recovery-codes');
  await page.getByRole('link', { name: 'I have saved them' }).click();
  await hydrated(page);
  await expect(page.getByTestId('two-factor')).toContainText('10 of 10 recovery codes left');
  await mailTo(email, 'Two-factor sign-in is on');

  await signOut(page);
  await signInWithPassword(page, email);
  await page.waitForURL(/\/sign-in\/two-factor/);
  await hydrated(page);
  await shoot(page, 'sign-in-with-code');
  await page.getByLabel('Code', { exact: true }).fill('000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('That code is not correct.')).toBeVisible();
  // The enrolment spent this period's code; the next period's is accepted (one step of clock skew).
  await page.getByLabel('Code', { exact: true }).fill(totpCode(secret, 1));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  await hydrated(page);

  await signOut(page);
  await signInWithPassword(page, email);
  await page.waitForURL(/\/sign-in\/two-factor/);
  await hydrated(page);
  await page.getByLabel('Code', { exact: true }).fill(recovery);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  await open(page, '/settings');
  await expect(page.getByTestId('two-factor')).toContainText('9 of 10 recovery codes left');
});

test('sign out another session from the sessions list', async ({ page, browser }) => {
  const email = newEmail();
  await signUp(page, email);
  const phone = await browser.newContext({ viewport: { width: 375, height: 812 } });
  const other = await phone.newPage();
  await signInWithPassword(other, email);
  await other.waitForURL(HOME);

  await open(page, '/settings');
  const rows = page.getByTestId('session-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('This browser');
  await shoot(page, 'sessions');
  await rows.nth(1).getByRole('button', { name: 'Sign out' }).click();
  await expect(rows).toHaveCount(1);

  await other.reload();
  await other.waitForURL(/\/sign-in/);
  await phone.close();
  await mailTo(email, 'New sign-in to Latchkey');
});
