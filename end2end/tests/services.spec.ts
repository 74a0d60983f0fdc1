import { cli, expect, HOME, hydrated, newEmail, open, openOperatorPage, PASSWORD, signUp, test } from '../support/fixtures';
import path from 'node:path';
import type { APIRequestContext, Page } from '@playwright/test';

// The other half of the product, end to end: an operator issues a service token in the portal, a service
// uses it to create and verify a customer's key, and the customer's changes in the portal (allowlist,
// rate limit, revocation) reach verification at once.

const screens = path.join(__dirname, '..', 'test-results', 'screens');

/** An operator account made with the CLI against the server's own database, as an operator would. */
function createOperator(email: string): void {
  cli(['account', 'create', '--email', email, '--password-stdin', '--operator'], `${PASSWORD}\n`);
}

async function signIn(page: Page, email: string): Promise<void> {
  await open(page, '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  await hydrated(page);
}

async function verify(request: APIRequestContext, token: string, body: object): Promise<{ code: string; [k: string]: unknown }> {
  const response = await request.post('/v1/keys/verify', { headers: { Authorization: `Bearer ${token}` }, data: body });
  expect(response.status()).toBe(200);
  return response.json();
}

test('an operator token lets a service manage and verify keys that the customer controls in the portal', async ({ page, browser, request }) => {
  const operator = newEmail();
  createOperator(operator);
  await signIn(page, operator);
  await openOperatorPage(page, 'Service tokens');
  await expect(page.getByRole('heading', { name: 'Service tokens' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill('billing-backend');
  await page.getByLabel('keys:write').check();
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByTestId('new-key');
  await expect(shown).toHaveText(/^lksvc_[0-9A-Za-z]{49}$/);
  const token = (await shown.textContent()) ?? '';
  await page.getByRole('link', { name: 'Done' }).click();
  await expect(page.getByTestId('new-key')).toHaveCount(0);
  await expect(page.getByRole('row', { name: /billing-backend/ })).toContainText('verify, keys:write');
  await page.screenshot({ path: path.join(screens, 'desktop_service-tokens.png'), fullPage: true });

  const customer = newEmail();
  const customerContext = await browser.newContext();
  const customerPage = await customerContext.newPage();
  await signUp(customerPage, customer);

  const created = await request.post('/v1/keys', {
    headers: { Authorization: `Bearer ${token}` },
    data: { account: customer, name: 'Made by the backend', scopes: ['orders:read'], meta: { plan: 'pro' } },
  });
  expect(created.status()).toBe(201);
  const { key } = await created.json();
  const valid = await verify(request, token, { key, scopes: ['orders:read'], ip: '192.0.2.1' });
  expect(valid).toMatchObject({ valid: true, code: 'VALID', meta: { plan: 'pro' } });

  await open(customerPage, '/');
  await customerPage.getByRole('link', { name: 'Made by the backend' }).click();
  await expect(customerPage.getByRole('heading', { name: 'Access controls' })).toBeVisible();
  await hydrated(customerPage);
  await expect(customerPage.getByText('"plan": "pro"')).toBeVisible();
  await customerPage.getByLabel('Allowed IP addresses').fill('10.0.0.0/8\nnot-a-network');
  await customerPage.getByRole('button', { name: 'Save access controls' }).click();
  await expect(customerPage.getByText("'not-a-network' is not an IP address or network")).toBeVisible();
  // The refused form still holds what was typed.
  await expect(customerPage.getByLabel('Allowed IP addresses')).toHaveValue('10.0.0.0/8\nnot-a-network');
  await customerPage.getByLabel('Allowed IP addresses').fill('10.0.0.0/8');
  await customerPage.getByLabel('Requests allowed').fill('2');
  await customerPage.getByLabel('Window in seconds').fill('3600');
  await customerPage.getByRole('button', { name: 'Save access controls' }).click();
  await expect(customerPage.getByRole('status')).toHaveText('Saved');
  await customerPage.setViewportSize({ width: 1280, height: 800 });
  await customerPage.screenshot({ path: path.join(screens, 'desktop_key-access-controls.png'), fullPage: true });
  await customerPage.setViewportSize({ width: 375, height: 740 });
  await customerPage.screenshot({ path: path.join(screens, 'phone_key-access-controls.png'), fullPage: true });
  const overflow = await customerPage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the key page scrolls sideways on a phone').toBeLessThanOrEqual(0);

  expect((await verify(request, token, { key, ip: '192.0.2.1' })).code).toBe('IP_NOT_ALLOWED');
  expect((await verify(request, token, { key, ip: '10.0.0.1' })).code).toBe('VALID');
  expect((await verify(request, token, { key, ip: '10.0.0.1' })).code).toBe('VALID');
  expect((await verify(request, token, { key, ip: '10.0.0.1' })).code).toBe('RATE_LIMITED');

  await customerPage.getByRole('button', { name: 'Revoke key' }).click();
  await customerPage.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(customerPage.getByText('Revoked', { exact: true }).first()).toBeVisible();
  expect((await verify(request, token, { key, ip: '10.0.0.1' })).code).toBe('REVOKED');
  await open(customerPage, '/activity');
  await expect(customerPage.getByRole('cell', { name: 'service token "billing-backend"' })).toBeVisible();
  await customerContext.close();

  await page.reload();
  await hydrated(page);
  const row = page.getByRole('row', { name: /billing-backend/ });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(page.getByRole('row', { name: /billing-backend/ })).toContainText('Revoked');
  const refused = await request.post('/v1/keys/verify', { headers: { Authorization: `Bearer ${token}` }, data: { key } });
  expect(refused.status()).toBe(401);
});

test('customers do not see the operator pages', async ({ page, expectedMissing }) => {
  expectedMissing.add('/operator/service-tokens');
  await signUp(page, newEmail());
  await expect(page.getByRole('link', { name: 'Service tokens' })).toHaveCount(0);
  const response = await page.goto('/operator/service-tokens');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
