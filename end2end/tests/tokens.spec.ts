import { cli, expect, hydrated, newEmail, open, shoot, signUp, test, untilUsageTotal } from '../support/fixtures';
import path from 'node:path';

// A customer's service trades its API key for a short-lived JWT; the key's page counts each exchange as
// "Token issued" beside its verifications, shows how many of the key's tokens are live, and says how many a
// revocation ended.

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

test('the key page counts live tokens, and revoking the key says how many it ended', async ({ page, request }) => {
  const customer = newEmail();
  await signUp(page, customer);
  const service = cli(['service-token', 'create', '--name', `live-${customer}`, '--permission', 'verify', '--permission', 'keys:write']);
  const created = await request.post('/v1/keys', {
    headers: { Authorization: `Bearer ${service}` },
    data: { account: customer, name: 'Partner sync', scopes: ['orders:read'] },
  });
  expect(created.status()).toBe(201);
  const { key, id } = await created.json();
  const tokens: string[] = [];
  for (let n = 0; n < 3; n++) {
    const issued = await request.post('/v1/tokens', { headers: { Authorization: `Bearer ${key}` } });
    expect(issued.status()).toBe(200);
    tokens.push((await issued.json()).access_token);
  }
  // RFC 7009: the key revokes one of its own tokens, form-encoded as OAuth clients send it.
  const revokedOne = await request.post('/v1/tokens/revoke', { headers: { Authorization: `Bearer ${key}` }, form: { token: tokens[0] } });
  expect(revokedOne.status()).toBe(200);
  const introspect = async (token: string) => {
    const answer = await request.post('/v1/tokens/introspect', { headers: { Authorization: `Bearer ${service}` }, form: { token } });
    expect(answer.status()).toBe(200);
    return answer.json();
  };
  expect(await introspect(tokens[0])).toEqual({ active: false });
  expect((await introspect(tokens[1])).active).toBe(true);

  await open(page, `/keys/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('live-tokens')).toHaveText('2 live access tokens');
  await shoot(page, 'key-live-tokens');
  await page.getByRole('button', { name: 'Revoke key' }).click();
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(page.getByTestId('revoked-note')).toHaveText('Key revoked. It also ended 2 live access tokens bought with it.');
  await expect(page.getByTestId('live-tokens')).toHaveCount(0);
  await shoot(page, 'key-revoked-tokens');
  for (const token of tokens) expect(await introspect(token)).toEqual({ active: false });

  await open(page, '/activity');
  await expect(page.getByRole('row', { name: /Access token revoked/ })).toBeVisible();
  await expect(page.getByRole('row', { name: /Key revoked/ })).toContainText('ended 2 access tokens');
  await shoot(page, 'activity-tokens');
});
