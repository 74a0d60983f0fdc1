import { expect, newEmail, open, signInAsNewOperator, signUp, test } from '../support/fixtures';
import path from 'node:path';

// Screenshots land in test-results/screens for a person to look at; the assertions catch what a person
// would notice at a glance: content cut off or scrolling sideways, and controls without visible focus.
const screens = path.join(__dirname, '..', 'test-results', 'screens');

for (const { name, width, height } of [
  { name: 'phone', width: 375, height: 740 },
  { name: 'desktop', width: 1280, height: 800 },
]) {
  test(`pages fit a ${name} screen without sideways scrolling`, async ({ page }) => {
    await page.setViewportSize({ width, height });
    for (const route of ['/sign-in', '/sign-up', '/no-such-page']) {
      await open(page, route);
      await page.screenshot({ path: path.join(screens, `${name}${route.replaceAll('/', '_')}.png`), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${route} scrolls sideways`).toBeLessThanOrEqual(0);
    }
    await open(page, '/sign-up');
    await page.getByLabel('Email').fill('someone@example');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
    await page.screenshot({ path: path.join(screens, `${name}_sign-up-errors.png`), fullPage: true });

    await signUp(page, newEmail());
    await page.screenshot({ path: path.join(screens, `${name}_keys-empty.png`), fullPage: true });
    await open(page, '/keys/new');
    await page.screenshot({ path: path.join(screens, `${name}_key-create.png`), fullPage: true });
    await page.getByLabel('Name').fill('Billing service (production)');
    await page.getByLabel('orders:read').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect(page.getByTestId('new-key')).toBeVisible();
    await page.screenshot({ path: path.join(screens, `${name}_key-shown-once.png`), fullPage: true });
    await page.getByRole('link', { name: 'Key settings' }).click();
    await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
    await page.screenshot({ path: path.join(screens, `${name}_key-detail.png`), fullPage: true });
    await open(page, '/activity');
    await page.screenshot({ path: path.join(screens, `${name}_activity.png`), fullPage: true });
    await open(page, '/settings');
    await page.screenshot({ path: path.join(screens, `${name}_settings.png`), fullPage: true });
    for (const route of ['/activity', '/keys/new', '/settings']) {
      await open(page, route);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(wide, `${route} scrolls sideways`).toBeLessThanOrEqual(0);
    }
    await open(page, '/');
    await page.screenshot({ path: path.join(screens, `${name}_home.png`), fullPage: true });
    await page.getByLabel('Account menu').click();
    await page.screenshot({ path: path.join(screens, `${name}_home_menu.png`) });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'home scrolls sideways').toBeLessThanOrEqual(0);
  });
}

test('keyboard focus is visible on form controls', async ({ page }) => {
  await open(page, '/sign-in');
  await page.getByLabel('Email').focus();
  await page.keyboard.press('Tab');
  const focused = page.getByLabel('Password');
  await expect(focused).toBeFocused();
  const ring = await focused.evaluate((el) => getComputedStyle(el).boxShadow);
  expect(ring).not.toBe('none');
  await page.keyboard.press('Tab');
  const button = page.getByRole('button', { name: 'Sign in' });
  await expect(button).toBeFocused();
  const outline = await button.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
});

test('a crowded keys table fits its box on a desktop, and an operator header is one row on a phone', async ({ page }) => {
  await signInAsNewOperator(page, `operator-with-a-long-address-${Date.now()}@example-provider.com`);
  const keys = page.url();
  await open(page, keys.replace(/keys$/, 'keys/new'));
  await page.getByLabel('Name').fill('Billing service (production, eu-west-1), nightly reconciliation');
  for (const scope of await page.locator('.scope-choices input[type="checkbox"]').all()) await scope.check();
  await page.getByLabel('Expires').selectOption('never');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key')).toBeVisible();

  await page.setViewportSize({ width: 1280, height: 800 });
  await open(page, keys);
  await page.screenshot({ path: path.join(screens, 'desktop_keys-crowded.png'), fullPage: true });
  const table = await page.locator('.table-wrap').evaluate((wrap) => ({ scroll: wrap.scrollWidth, client: wrap.clientWidth }));
  expect(table.scroll, 'the keys table scrolls sideways inside its box').toBeLessThanOrEqual(table.client);
  const status = await page.locator('td[data-label="Status"]').first().boundingBox();
  const wrap = await page.locator('.table-wrap').boundingBox();
  expect(status && wrap && status.x + status.width <= wrap.x + wrap.width + 1, 'the status column is inside the box').toBe(true);
  // A table cell is as tall as its row: measure the date itself (its day and time parts).
  const lines = await page.locator('td[data-label="Created"]').first().evaluate((cell) => {
    const parts = [...cell.querySelectorAll('.when')].map((part) => part.getBoundingClientRect());
    const height = Math.max(...parts.map((r) => r.bottom)) - Math.min(...parts.map((r) => r.top));
    return height / parseFloat(getComputedStyle(cell).lineHeight);
  });
  expect(lines, 'a date takes at most two lines').toBeLessThanOrEqual(2.1);

  await page.setViewportSize({ width: 375, height: 740 });
  await open(page, keys);
  await page.screenshot({ path: path.join(screens, 'phone_header-operator.png') });
  const header = await page.locator('.site-header-inner').boundingBox();
  expect(header?.height ?? 999, 'the header is one row').toBeLessThanOrEqual(64);
  for (const part of ['.brand', '.org-switcher', '.account-menu']) {
    const box = await page.locator(`.site-header ${part}`).first().boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 375, `${part} is whole on the screen`).toBe(true);
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
