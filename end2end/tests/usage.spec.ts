import { cli, expect, HOME, hydrated, newEmail, open, openOperatorPage, PASSWORD, shoot, signUp, test, untilUsageTotal } from '../support/fixtures';
import { readFileSync } from 'node:fs';

// Usage as a customer and an operator see it: verifications made through the API show up on the key's
// page, the account's overview and the operator's, as charts with exact numbers, and as a CSV download.

test('verifications through the API show on the key page, the usage overview, the export and the operator overview', async ({
  page,
  browser,
  request,
}) => {
  const customer = newEmail();
  await signUp(page, customer);
  await open(page, '/usage');
  await expect(page.getByText('No verifications in this period')).toBeVisible();
  await shoot(page, 'usage-empty');

  const token = cli(['service-token', 'create', '--name', `usage-${customer}`, '--permission', 'verify', '--permission', 'keys:write']);
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request.post('/v1/keys', {
    headers: auth,
    data: { account: customer, name: 'Checkout', scopes: ['orders:read'] },
  });
  expect(created.status()).toBe(201);
  const { key, id } = await created.json();

  await open(page, `/keys/${id}`);
  await expect(page.getByTestId('last-used')).toContainText('Last used Never');
  for (const scopes of [['orders:read'], ['orders:read'], [], ['orders:write'], ['orders:write'], ['orders:write'], ['orders:write']]) {
    const verified = await request.post('/v1/keys/verify', { headers: auth, data: { key, scopes, ip: '198.51.100.23' } });
    expect(verified.status()).toBe(200);
  }

  await untilUsageTotal(page, '7');
  // The page reads the key and its usage separately; a flush landing between the two reads can show the
  // counts without the last use written beside them. Once the counts are in, a fresh load has both.
  await page.reload();
  await hydrated(page);
  await expect(page.locator('.legend-total[data-code="VALID"]')).toHaveText('3');
  await expect(page.locator('.legend-total[data-code="INSUFFICIENT_SCOPES"]')).toHaveText('4');
  await expect(page.getByTestId('last-used')).not.toContainText('Never');
  await expect(page.getByTestId('last-used')).toContainText('198.51.100.23');

  // Exact numbers on hover and on keyboard focus.
  const busiest = page.locator('.chart-column', { has: page.locator('.chart-bar') }).last();
  await busiest.hover();
  await expect(busiest.locator('.chart-readout')).toBeVisible();
  await expect(busiest.locator('.chart-readout')).toContainText('7 verifications');
  await expect(busiest.locator('.chart-readout')).toContainText('3 valid · 4 insufficient scopes');
  await page.mouse.move(0, 0);
  await busiest.focus();
  await expect(busiest.locator('.chart-readout')).toBeVisible();
  await shoot(page, 'key-usage');

  await page.getByRole('link', { name: 'Last 30 days' }).click();
  await expect(page).toHaveURL(/period=30d/);
  await expect(page.getByText('Per day, last 30 days')).toBeVisible();
  await expect(page.getByTestId('usage-total')).toHaveText('7');

  await page.getByText("Export this key's usage as CSV").click();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download CSV' }).click();
  const csv = readFileSync(await (await download).path(), 'utf8').trim().split('\n');
  expect(csv[0]).toBe('period_start_utc,key_id,key_name,total,VALID,TOKEN_ISSUED,REVOKED,EXPIRED,DISABLED,IP_NOT_ALLOWED,INSUFFICIENT_SCOPES,RATE_LIMITED');
  expect(csv).toHaveLength(31);
  expect(csv[30]).toContain(`${id},Checkout,7,3,0,0,0,0,0,4,0`);

  await page.getByRole('link', { name: 'Usage', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Needs attention' })).toBeVisible();
  await expect(page.getByText('Asked for a scope it does not have, 4 times.')).toBeVisible();
  await expect(page.getByRole('row', { name: /Checkout/ })).toContainText('7');
  await hydrated(page);
  await shoot(page, 'usage');

  const operator = newEmail();
  cli(['account', 'create', '--email', operator, '--password-stdin', '--operator'], `${PASSWORD}\n`);
  const operatorContext = await browser.newContext();
  const operatorPage = await operatorContext.newPage();
  await open(operatorPage, '/sign-in');
  await operatorPage.getByLabel('Email').fill(operator);
  await operatorPage.getByLabel('Password').fill(PASSWORD);
  await operatorPage.getByRole('button', { name: 'Sign in' }).click();
  await operatorPage.waitForURL(HOME);
  await openOperatorPage(operatorPage, 'API usage');
  await expect(operatorPage.getByRole('heading', { name: 'Top organisations' })).toBeVisible();
  await expect(operatorPage.getByRole('row', { name: new RegExp(`^${customer}`) })).toContainText('7');
  await expect(operatorPage.getByRole('row', { name: new RegExp(`${customer}.*Insufficient scopes`) })).toContainText('4');
  await hydrated(operatorPage);
  await shoot(operatorPage, 'operator-usage');
  await operatorContext.close();
});

test('customers do not see the operator usage page', async ({ page, expectedMissing }) => {
  expectedMissing.add('/operator/usage');
  await signUp(page, newEmail());
  await expect(page.getByRole('link', { name: 'API usage' })).toHaveCount(0);
  const response = await page.goto('/operator/usage');
  expect(response?.status()).toBe(404);
});
