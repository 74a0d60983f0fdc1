import { cli, expect, HOME, hydrated, mailTo, newEmail, open, openOperatorPage, PASSWORD, shoot, signUp, test } from '../support/fixtures';
import path from 'node:path';
import type { Browser, Page } from '@playwright/test';

// Organisations end to end, with a browser context per person: an owner invites a developer, who joins and
// creates a key but cannot revoke the owner's; a viewer reads but changes nothing; removing the developer
// ends their access on their next click; the operator finds the organisation by a key's hint, disables it,
// and its key then verifies as DISABLED.

const KEY_SHAPE = /^lk_[0-9A-Za-z]{49}$/;
const screens = path.join(__dirname, '..', 'test-results', 'screens');

async function createKey(page: Page, name: string): Promise<string> {
  await page.getByRole('link', { name: 'Keys', exact: true }).click();
  await hydrated(page);
  await page.getByRole('link', { name: 'Create key' }).click();
  await hydrated(page);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('orders:read').check();
  await page.getByLabel('Expires').selectOption('never');
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByTestId('new-key');
  await expect(shown).toHaveText(KEY_SHAPE);
  return (await shown.textContent()) ?? '';
}

/** The owner invites `email` as `role` on the members page; answers the link. */
async function invite(owner: Page, email: string, role: string): Promise<string> {
  await owner.getByRole('link', { name: 'Members', exact: true }).click();
  await hydrated(owner);
  await owner.getByLabel('Email').fill(email);
  await owner.getByLabel('Role', { exact: true }).selectOption(role);
  const link = owner.getByTestId('invitation-link');
  // The page may still show the link of an earlier invitation: wait for the new one.
  const earlier = (await link.count()) > 0 ? await link.textContent() : null;
  await owner.getByRole('button', { name: 'Create invitation' }).click();
  await expect(link).toContainText('/invitations/');
  if (earlier) await expect(link).not.toHaveText(earlier);
  return (await link.textContent()) ?? '';
}

/**
 * A new person opens an invitation link in a browser of their own and signs up on the way: that joins the
 * organisation, with no organisation of their own. `link` is the one shown to the owner, or the one mailed.
 */
async function join(browser: Browser, link: string, email: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await open(page, link);
  await expect(page.getByRole('heading', { name: /^Join / })).toBeVisible();
  await page.locator('#main').getByRole('link', { name: 'Sign up' }).click();
  await page.waitForURL(/\/sign-up\?next=/);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: /^Join / })).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await expect(page.getByLabel('Organisation (optional)')).toHaveCount(0);
  await shoot(page, 'sign-up-through-invitation');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up and join' }).click();
  await page.waitForURL(HOME);
  await hydrated(page);
  // The switcher lists the organisation joined and nothing else: no empty one of their own.
  await expect(page.locator('.org-switcher .org-list a')).toHaveCount(1);
  return page;
}

/** The invitation link mailed to `email`. */
async function mailedInvitation(email: string): Promise<string> {
  const mail = await mailTo(email, '');
  expect(mail.subject).toMatch(/ invited you to /);
  const found = /https?:\/\/\S+\/invitations\/[A-Za-z0-9_-]+/.exec(mail.text);
  if (!found) throw new Error(`no invitation link in:\n${mail.text}`);
  return found[0];
}

test('an owner invites a developer and a viewer; roles hold; removal ends access; the operator disables the organisation', async ({ page, browser, request }) => {
  // Four people in four browser contexts, one story: it needs about 30 s on a busy 2-core machine.
  test.slow();
  const owner = newEmail();
  await signUp(page, owner);
  const orgUrl = page.url();
  const ownersKey = await createKey(page, 'Owner key');

  // The developer joins through the link mailed to them, which also proves their address.
  const developerEmail = newEmail();
  const link = await invite(page, developerEmail, 'developer');
  await expect(page.getByText(`A message with a link of its own is on its way to ${developerEmail}`)).toBeVisible();
  await page.screenshot({ path: path.join(screens, 'members-invitation.png'), fullPage: true });
  const developer = await join(browser, await mailedInvitation(developerEmail), developerEmail);
  expect(developer.url()).toBe(orgUrl);
  await expect(developer.getByTestId('current-organisation')).toHaveText(owner);
  await expect(developer.getByTestId('verify-banner')).toHaveCount(0);
  // One use between the two links: the one shown to the owner is spent too.
  await open(developer, link);
  await expect(developer.getByText('This invitation was already used.')).toBeVisible();
  await developer.goBack();
  await createKey(developer, 'Developer key');
  await developer.getByRole('link', { name: 'Keys', exact: true }).click();
  await expect(developer.getByRole('row', { name: /Developer key/ })).toContainText(developerEmail);

  // The owner's key: no controls for the developer, and the server refuses the call anyway.
  await developer.getByRole('link', { name: 'Owner key' }).click();
  await hydrated(developer);
  await expect(developer.getByRole('heading', { name: 'Usage' })).toBeVisible();
  await expect(developer.getByRole('button', { name: 'Revoke key' })).toHaveCount(0);
  await expect(developer.getByRole('button', { name: 'Roll key' })).toHaveCount(0);
  const [org, keyId] = new URL(developer.url()).pathname.split('/').filter(Boolean).filter((_, i) => i === 1 || i === 3);
  const refused = await developer.request.post('/api/keys/revoke', {
    form: { org, id: keyId },
    headers: { Origin: new URL(developer.url()).origin },
  });
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain('Developers may change only the keys they created');

  // A viewer reads keys and usage, and is offered no create, roll or revoke.
  // The viewer joins through the link the owner passed on: the address is still to be verified.
  const viewerEmail = newEmail();
  const viewer = await join(browser, await invite(page, viewerEmail, 'viewer'), viewerEmail);
  await expect(viewer.getByTestId('verify-banner')).toBeVisible();
  await expect(viewer.getByRole('row', { name: /Owner key/ })).toBeVisible();
  await expect(viewer.getByRole('link', { name: 'Create key' })).toHaveCount(0);
  await viewer.getByRole('link', { name: 'Owner key' }).click();
  await hydrated(viewer);
  await expect(viewer.getByRole('heading', { name: 'Usage' })).toBeVisible();
  await expect(viewer.getByRole('button', { name: /Roll key|Revoke key|Save changes/ })).toHaveCount(0);
  await viewer.getByRole('link', { name: 'Usage', exact: true }).click();
  await expect(viewer.getByRole('heading', { name: 'Keys by use' })).toBeVisible();

  // The owner removes the developer: their next click finds nothing.
  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await hydrated(page);
  await page.screenshot({ path: path.join(screens, 'members.png'), fullPage: true });
  const developerRow = page.getByTestId('member-row').filter({ hasText: developerEmail });
  await developerRow.getByRole('button', { name: 'Remove' }).click();
  await developerRow.getByRole('button', { name: 'Yes, remove' }).click();
  await expect(page.getByTestId('member-row').filter({ hasText: developerEmail })).toHaveCount(0);
  await developer.getByRole('link', { name: 'Keys', exact: true }).click();
  await expect(developer.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Developer key' })).toHaveCount(0); // still on the members page
  await page.getByRole('link', { name: 'Keys', exact: true }).click();
  await expect(page.getByRole('row', { name: /Developer key/ })).toBeVisible(); // the key stays

  // The operator finds the organisation by the key's hint and disables it; the key then answers DISABLED.
  const operatorEmail = newEmail();
  cli(['account', 'create', '--email', operatorEmail, '--password-stdin', '--operator'], `${PASSWORD}\n`);
  const token = cli(['service-token', 'create', '--name', 'e2e-orgs', '--permission', 'verify']);
  const operatorContext = await browser.newContext();
  const operator = await operatorContext.newPage();
  await open(operator, '/sign-in');
  await operator.getByLabel('Email').fill(operatorEmail);
  await operator.getByLabel('Password').fill(PASSWORD);
  await operator.getByRole('button', { name: 'Sign in' }).click();
  await operator.waitForURL(HOME);
  await openOperatorPage(operator, 'Organisations');
  await hydrated(operator);
  await operator.getByLabel('Search').fill(ownersKey.slice(0, 7));
  await operator.getByRole('button', { name: 'Search' }).click();
  await expect(operator.getByTestId('organisation-row')).toHaveCount(1);
  await operator.getByTestId('organisation-row').getByRole('link', { name: owner }).click();
  await hydrated(operator);
  await expect(operator.getByRole('row', { name: /^Owner key/ })).toBeVisible();
  await operator.screenshot({ path: path.join(screens, 'operator-organisation.png'), fullPage: true });
  await operator.getByRole('button', { name: 'Disable organisation' }).click();
  await operator.getByRole('button', { name: 'Yes, disable' }).click();
  await expect(operator.getByRole('button', { name: 'Enable organisation' })).toBeVisible();
  const answer = await request.post('/v1/keys/verify', { headers: { Authorization: `Bearer ${token}` }, data: { key: ownersKey } });
  expect((await answer.json()).code).toBe('DISABLED');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('disabled-notice')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Create key' })).toHaveCount(0);
  await page.screenshot({ path: path.join(screens, 'disabled-notice.png'), fullPage: true });
  await open(operator, '/operator/activity');
  await expect(operator.getByTestId('operator-event').first()).toContainText('Organisation disabled');
  await operatorContext.close();
  await developer.context().close();
  await viewer.context().close();
});

test('a person can create another organisation and switch between them', async ({ page }) => {
  const email = newEmail();
  await signUp(page, email);
  await page.getByLabel('Switch organisation').click();
  await page.getByRole('link', { name: 'New organisation' }).click();
  await hydrated(page);
  await page.getByLabel('Name').fill('Side project');
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await page.waitForURL(HOME);
  await hydrated(page);
  await expect(page.getByTestId('current-organisation')).toHaveText('Side project');
  await expect(page.getByText('No API keys yet')).toBeVisible();
  await page.getByLabel('Switch organisation').click();
  await page.screenshot({ path: path.join(screens, 'switcher.png') });
  await page.getByRole('link', { name: new RegExp(email) }).click();
  await hydrated(page);
  await expect(page.getByTestId('current-organisation')).toHaveText(email);
});
