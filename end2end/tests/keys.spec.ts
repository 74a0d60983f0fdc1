import { expect, hydrated, newEmail, open, signOut, signUp, test } from '../support/fixtures';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';

const KEY_SHAPE = /^lk_[0-9A-Za-z]{49}$/;

async function createKey(page: Page, name: string, scopes: string[]): Promise<string> {
  await open(page, '/keys/new');
  await page.getByLabel('Name').fill(name);
  for (const scope of scopes) await page.getByLabel(scope).check();
  await page.getByLabel('Expires').selectOption('never');
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByTestId('new-key');
  await expect(shown).toHaveText(KEY_SHAPE);
  await expect(page.getByText('This is the only time the key is shown.')).toBeVisible();
  return (await shown.textContent()) ?? '';
}

async function openKey(page: Page, name: string): Promise<void> {
  await open(page, '/');
  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
  await hydrated(page);
}

test('a new key is shown once, gone after reload, and listed by its hint', async ({ page }) => {
  await signUp(page, newEmail());
  await expect(page.getByText('No API keys yet')).toBeVisible();
  const key = await createKey(page, 'Billing service', ['orders:read']);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(key);
  await expect(page.getByRole('button', { name: 'Create key' })).toBeVisible();

  await open(page, '/');
  const row = page.getByRole('row', { name: /Billing service/ });
  await expect(row).toContainText(`${key.slice(0, 7)}…`);
  await expect(row).toContainText('Never');
  await expect(row).toContainText('Active');
  await page.goBack();
  expect(await page.content()).not.toContain(key);
});

test('edit scopes, roll with an hour of grace, then revoke', async ({ page }) => {
  await signUp(page, newEmail());
  const first = await createKey(page, 'Checkout', ['orders:read']);

  await openKey(page, 'Checkout');
  await page.getByLabel('orders:write').check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved');
  await open(page, '/');
  await expect(page.getByRole('row', { name: /Checkout/ })).toContainText('orders:read, orders:write');

  await openKey(page, 'Checkout');
  await page.getByLabel('Old key keeps working for').selectOption('1h');
  await page.getByRole('button', { name: 'Roll key' }).click();
  const successor = page.getByTestId('new-key');
  await expect(successor).toHaveText(KEY_SHAPE);
  expect(await successor.textContent()).not.toBe(first);
  await expect(page.getByTestId('rolled-note')).toContainText('Rolled, valid until');
  await expect(page.getByRole('button', { name: 'Save changes' })).toBeHidden(); // the old key's settings no longer apply

  await open(page, '/');
  const rows = page.getByRole('row', { name: /Checkout/ });
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'Rolled' })).toHaveCount(1);

  await rows.filter({ hasText: 'Active' }).getByRole('link', { name: 'Checkout' }).click();
  await hydrated(page);
  await page.getByRole('button', { name: 'Revoke key' }).click();
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(page.locator('.key-title .badge')).toHaveText('Revoked');
  await open(page, '/activity');
  await expect(page.getByRole('cell', { name: 'Key revoked' })).toBeVisible();
  await expect(page.getByRole('cell', { name: /Key rolled/ })).toBeVisible();
});

test("another account opening a key's address gets the not-found page", async ({ page, expectedMissing }) => {
  await signUp(page, newEmail());
  await createKey(page, 'Private', ['orders:read']);
  await openKey(page, 'Private');
  const address = page.url();
  await signOut(page);
  await signUp(page, newEmail());
  expectedMissing.add(new URL(address).pathname);
  const response = await page.goto(address);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('no plaintext key reaches the database file or the server log', async ({ page }) => {
  await signUp(page, newEmail());
  const key = await createKey(page, 'Secret keeper', ['customers:read']);
  await openKey(page, 'Secret keeper');
  await page.getByRole('button', { name: 'Roll key' }).click();
  const rolled = (await page.getByTestId('new-key').textContent()) ?? '';
  expect(rolled).toMatch(KEY_SHAPE);

  const workdir = process.env.LATCHKEY_E2E_WORKDIR ?? '';
  const files = readdirSync(workdir).filter((name) => name.startsWith('latchkey.db') || name === 'server.log');
  expect(files).toContain('server.log');
  for (const file of files) {
    const bytes = readFileSync(path.join(workdir, file));
    for (const secret of [key, rolled]) {
      expect(bytes.includes(Buffer.from(secret.slice(3))), `${file} holds a plaintext key`).toBe(false);
    }
  }
});

test('the keys page searches, filters and orders, and keeps the view in its address', async ({ page }) => {
  await signUp(page, newEmail());
  await createKey(page, 'Billing prod', ['orders:read']);
  await createKey(page, 'Checkout', ['orders:read', 'orders:write']);
  await createKey(page, 'Billing staging', ['orders:write']);
  await openKey(page, 'Billing staging');
  await page.getByRole('button', { name: 'Revoke key' }).click();
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(page.locator('.key-title .badge')).toHaveText('Revoked');

  await open(page, '/');
  await expect(page.getByTestId('key-count')).toHaveText('2 keys · page 1 of 1');
  await page.getByLabel('Search').fill('billing');
  await page.getByRole('button', { name: 'Show keys' }).click();
  await expect(page).toHaveURL(/\/keys\?q=billing/);
  await expect(page.getByRole('row', { name: /Billing/ })).toHaveCount(1);

  await page.getByLabel('Status').selectOption('any');
  await page.getByLabel('Order').selectOption('created_asc');
  await page.getByRole('button', { name: 'Show keys' }).click();
  await expect(page).toHaveURL(/status=any/);
  const rows = page.getByRole('row', { name: /Billing/ });
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('Billing prod');
  await expect(rows.last()).toContainText('Revoked');

  // The view survives a reload, and works before the page is interactive.
  await page.reload();
  await expect(page.getByLabel('Search')).toHaveValue('billing');
  await expect(page.getByLabel('Status')).toHaveValue('any');
  await expect(page.getByRole('row', { name: /Billing/ })).toHaveCount(2);

  await page.getByLabel('Search').fill('');
  await page.getByLabel('Status').selectOption('working');
  await page.getByLabel('Scope').selectOption('orders:write');
  await page.getByRole('button', { name: 'Show keys' }).click();
  await expect(page.getByRole('row', { name: /Checkout/ })).toHaveCount(1);
  await expect(page.getByRole('row', { name: /Billing/ })).toHaveCount(0);
  await page.goBack();
  await expect(page.getByRole('row', { name: /Billing/ })).toHaveCount(2);

  await open(page, '/');
  await page.getByLabel('Search').fill('nothing like this');
  await page.getByRole('button', { name: 'Show keys' }).click();
  await expect(page.getByRole('heading', { name: 'No keys match' })).toBeVisible();
  await page.getByRole('link', { name: 'Clear' }).click();
  await expect(page.getByTestId('key-count')).toHaveText('2 keys · page 1 of 1');
});
