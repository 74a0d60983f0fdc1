import { cli, expect, newEmail, open, signUp, test, untilUsageTotal } from '../support/fixtures';
import path from 'node:path';

// A customer's service trades its API key for a short-lived JWT; the key's page counts each exchange as
// "Token issued" beside its verifications.

const screens = path.join(__dirname, '..', 'test-results', 'screens');

test('token exchanges show on the key page as tokens issued', async ({ page, request }) => {
  const customer = newEmail();
  await signUp(page, customer);
  const token = cli(['service-token', 'create', '--name', `tokens-${customer}`, '--permission', 'verify', '--permission', 'keys:write']);
  const created = await request.post('/v1/keys', {
    headers: { Authorization: `Bearer ${token}` },
    data: { account: customer, name: 'Mobile backend', scopes: ['orders:read', 'orders:write'] },
  });
  expect(created.status()).toBe(201);
  const { key, id } = await created.json();

  for (const scope of ['orders:read', 'orders:read orders:write']) {
    const issued = await request.post('/v1/tokens', { headers: { Authorization: `Bearer ${key}` }, data: { scope } });
    expect(issued.status()).toBe(200);
    expect((await issued.json()).scope).toBe(scope);
  }
  const refused = await request.post('/v1/tokens', { headers: { Authorization: `Bearer ${key}` }, data: { scope: 'customers:read' } });
  expect(refused.status()).toBe(400);
  expect((await refused.json()).error).toBe('invalid_scope');
  const verified = await request.post('/v1/keys/verify', { headers: { Authorization: `Bearer ${token}` }, data: { key } });
  expect((await verified.json()).code).toBe('VALID');

  await open(page, `/keys/${id}`);
  await untilUsageTotal(page, '4');
  await expect(page.locator('.legend-total[data-code="TOKEN_ISSUED"]')).toHaveText('2');
  await expect(page.locator('.legend-total[data-code="VALID"]')).toHaveText('1');
  await expect(page.locator('.legend-total[data-code="INSUFFICIENT_SCOPES"]')).toHaveText('1');
  await expect(page.locator('.chart-legend')).toContainText('Token issued');
  await page.screenshot({ path: path.join(screens, 'desktop_key-usage-tokens.png'), fullPage: true });
});
