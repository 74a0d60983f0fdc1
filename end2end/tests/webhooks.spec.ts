import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cli, expect, hydrated, newEmail, open, openOperatorPage, shoot, signInAsNewOperator, signUp, test } from '../support/fixtures';

const python = process.env.LATCHKEY_TEST_PYTHON ?? path.resolve(__dirname, '../.venv/bin/python');
const receiver = path.resolve(__dirname, '../support/webhook_receiver.py');

interface Verified { id: string; path: string; status: number; verified: boolean; type: string | null; error: string | null }

/** Every delivery the receiver got, checked with the Standard Webhooks reference library and `secret`. */
function verifiedWith(secret: string): Verified[] {
  const output = execFileSync(python, [receiver, 'verify', '--dir', process.env.LATCHKEY_E2E_HOOK_DIR ?? '', '--secret', secret]);
  return output.toString().trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Verified);
}

test('a customer adds an endpoint, sends a test event and sees it delivered, signed', async ({ page }) => {
  await signUp(page, newEmail());
  const webhooks = page.url().replace(/\/keys$/, '/webhooks');
  await open(page, webhooks);
  await expect(page.getByText('No endpoints yet')).toBeVisible();

  const hookPath = `/e2e-${Date.now()}`;
  await page.getByLabel('URL').fill(`${process.env.LATCHKEY_E2E_HOOK_URL}${hookPath}`);
  await page.getByLabel('Description (optional)').fill('billing');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = (await page.getByTestId('new-key').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
  await page.getByRole('link', { name: 'Done' }).click();

  await page.getByRole('button', { name: 'Send a test event' }).click();
  await expect(page.locator('.alert-success')).toContainText('Test event');
  // Deliveries go out within a second or two; the log shows the receiver's answer.
  await expect(async () => {
    await page.reload();
    await expect(page.locator('table.deliveries')).toContainText('HTTP 200', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await hydrated(page);
  await expect(page.locator('table.deliveries')).toContainText('webhook.test');
  await expect(page.locator('table.deliveries')).toContainText('{"received": true}');
  await shoot(page, 'webhooks');

  const ours = verifiedWith(secret).filter((delivery) => delivery.path === hookPath);
  expect(ours.length).toBeGreaterThanOrEqual(1);
  for (const delivery of ours) {
    expect(delivery.error).toBeNull();
    expect(delivery.verified).toBe(true);
    expect(delivery.type).toBe('webhook.test');
  }
  // A wrong secret does not verify: the check is real.
  expect(verifiedWith('whsec_' + Buffer.alloc(32, 7).toString('base64')).filter((d) => d.path === hookPath).every((d) => !d.verified)).toBe(true);

  // Resend carries the same webhook-id.
  await page.getByRole('button', { name: 'Resend' }).first().click();
  await expect(async () => {
    const again = verifiedWith(secret).filter((delivery) => delivery.path === hookPath);
    expect(again.length).toBe(ours.length + 1);
    expect(again[again.length - 1].id).toBe(ours[0].id);
  }).toPass({ timeout: 20_000 });
});

test('a key reported as found in public shows a banner on its page and is revoked', async ({ page, request }) => {
  const customer = newEmail();
  await signUp(page, customer);
  const token = cli(['service-token', 'create', '--name', `leaks-${customer}`, '--permission', 'keys:write', '--permission', 'leaks:report']);
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request.post('/v1/keys', { headers: auth, data: { account: customer, name: 'Deploy', scopes: ['orders:read'] } });
  expect(created.status()).toBe(201);
  const { key, id } = await created.json();

  const reported = await request.post('/v1/leaks', {
    headers: auth,
    data: { reports: [{ token: key, url: 'https://github.com/acme/shop/blob/main/.env' }, { token: 'lk_not-a-key', url: '' }] },
  });
  expect(reported.status()).toBe(200);
  const { results } = await reported.json();
  expect(results[0]).toMatchObject({ label: 'true_positive', key_id: id, revoked: true });
  expect(results[1]).toMatchObject({ label: 'false_positive', key_id: null });

  await open(page, `/keys/${id}`);
  const banner = page.getByTestId('leak-banner');
  await expect(banner).toContainText('This key was found in public');
  await expect(banner).toContainText('https://github.com/acme/shop/blob/main/.env');
  await expect(banner).toContainText('It no longer works');
  await expect(page.locator('.key-title')).toContainText('Revoked');
  await shoot(page, 'leaked-key');
});

test('the operator registers an endpoint for every organisation on the operator page', async ({ page }) => {
  await signInAsNewOperator(page);
  await openOperatorPage(page, 'All webhooks');
  await page.waitForURL(/\/operator\/webhooks$/);
  await hydrated(page);
  await expect(page.locator('.lede')).toContainText("every organisation's");
  // The operator's own services may sit on a private network: plain http to an inner address is fine here.
  await page.getByLabel('URL').fill('http://10.20.30.40:8080/latchkey-events');
  await page.getByLabel('key.revoked').check();
  await page.getByLabel('key.leaked').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(page.getByTestId('new-key')).toContainText('whsec_');
  await page.getByRole('link', { name: 'Done' }).click();
  const card = page.getByTestId('webhook-endpoint').filter({ hasText: 'http://10.20.30.40:8080/latchkey-events' });
  await expect(card).toContainText('key.revoked, key.leaked');
  await shoot(page, 'operator-webhooks');
  // And the CLI sees it.
  expect(cli(['webhook', 'list'])).toContain('http://10.20.30.40:8080/latchkey-events');
});
