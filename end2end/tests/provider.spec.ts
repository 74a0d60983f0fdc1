// The portal inside a provider's product, against the second server the global setup starts: the provider's
// brand, its app's "Manage API keys" button (portal sessions), and sign-in through its OpenID Connect
// provider (npm's oidc-provider, a certified implementation), in the browser and at the protocol's edges.
import { expect, hydrated, test } from '../support/fixtures';
import { request as playwrightRequest, type APIRequestContext, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const branded = () => process.env.LATCHKEY_E2E_BRANDED_URL ?? '';
const issuer = () => process.env.LATCHKEY_E2E_OIDC_URL ?? '';
const providerApp = () => process.env.LATCHKEY_E2E_APP_URL ?? '';
const serverLog = () => readFileSync(path.join(process.env.LATCHKEY_E2E_BRANDED_WORKDIR ?? '', 'server.log'), 'utf8');
const screens = path.join(__dirname, '..', 'test-results', 'screens');
const KEY_SHAPE = /^lk_[0-9A-Za-z]{49}$/;

// The identity provider's clock and keys are shared: these tests take turns.
test.describe.configure({ mode: 'serial' });

function email(): string {
  return `person-${randomBytes(5).toString('hex')}@acme.example`;
}

test('a customer goes from the provider app into the branded portal, creates a key, goes back, and the link works once', async ({ page }) => {
  const links: string[] = [];
  page.on('request', (request) => {
    // The link's own page posts it back: count the opening (GET), not the post.
    if (/\/portal\/[0-9A-Za-z]{43}$/.test(request.url()) && request.method() === 'GET') links.push(request.url());
  });
  // A mail scanner or chat preview fetches the link before the person's browser opens it: it spends nothing.
  const prefetched: number[] = [];
  await page.route(`${providerApp()}/**`, async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    const location = response.headers()['location'] ?? '';
    if (/\/portal\/[0-9A-Za-z]{43}$/.test(location)) {
      const scanner = await playwrightRequest.newContext();
      try {
        prefetched.push((await scanner.get(location, { maxRedirects: 0 })).status());
      } finally {
        await scanner.dispose();
      }
    }
    await route.fulfill({ response });
  });
  await page.goto(`${providerApp()}/settings`);
  await page.getByRole('button', { name: 'Manage API keys' }).click();
  await expect(page).toHaveURL(/\/o\/[^/]+\/keys$/);
  await hydrated(page);
  await expect(page).toHaveTitle('API keys · Acme Cloud');
  await expect(page.getByTestId('product-name')).toHaveText('Acme Cloud');
  await expect(page.getByTestId('current-organisation')).toHaveText('Acme Ltd');
  const back = page.getByRole('link', { name: 'Back to Acme Cloud' });
  await expect(back).toHaveAttribute('href', `${providerApp()}/settings`);

  await page.getByRole('link', { name: /Create (your first )?key/ }).first().click();
  await hydrated(page);
  await page.getByLabel('Name').fill('Acme integration');
  await page.getByLabel('orders:read').check();
  await page.getByLabel('Expires').selectOption('never');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key')).toHaveText(KEY_SHAPE);
  await expect(page.getByText('Acme Cloud keeps only a fingerprint of it')).toBeVisible();

  await back.click();
  await expect(page).toHaveURL(`${providerApp()}/settings`);
  await expect(page.getByRole('heading', { name: 'Acme Cloud settings' })).toBeVisible();

  expect(links).toHaveLength(1);
  expect(prefetched).toEqual([200]);
  await page.goto(links[0]);
  await expect(page).toHaveURL(/\/portal\/unusable\?reason=used$/);
  await expect(page.getByRole('heading', { name: 'This link has already been used' })).toBeVisible();
  const unusable = page.getByTestId('portal-link-unusable');
  await expect(unusable.getByRole('link', { name: 'Back to Acme Cloud' })).toHaveAttribute('href', providerApp());
  expect(serverLog()).not.toContain(links[0].split('/portal/')[1]);
});

test('the branded sign-in page offers the identity provider, which signs a person into the organisation its claims name', async ({ page }) => {
  await page.goto(`${branded()}/sign-in`);
  await hydrated(page);
  await expect(page).toHaveTitle('Sign in · Acme Cloud');
  await expect(page.getByRole('heading', { name: 'Sign in to Acme Cloud' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Support' })).toHaveAttribute('href', 'https://acme.example/support');
  const organisation = `cus_idp_${randomBytes(4).toString('hex')}`;
  await page.getByRole('link', { name: 'Sign in with Acme ID' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/interaction/`));
  await page.getByLabel('Login').fill(`org=${organisation},role=admin;${email()}`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(/\/o\/[^/]+\/keys$/);
  await hydrated(page);
  await expect(page.getByTestId('current-organisation')).toHaveText(organisation);
  await expect(page.getByRole('link', { name: /Create (your first )?key/ }).first()).toBeVisible();
  await page.goto(`${branded()}/settings`);
  await expect(page.getByText('Your account has no password here')).toBeVisible();
});

test('a provider that puts the address and claims only in userinfo, as OpenID Connect does by default, still signs a new person in', async ({ page }) => {
  const organisation = `cus_ui_${randomBytes(4).toString('hex')}`;
  await page.goto(`${branded()}/sign-in`);
  await hydrated(page);
  await page.getByRole('link', { name: 'Sign in with Acme ID' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer()}/interaction/`));
  await page.getByLabel('Login').fill(`userinfo,org=${organisation},role=admin;${email()}`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(/\/o\/[^/]+\/keys$/);
  await hydrated(page);
  await expect(page.getByTestId('current-organisation')).toHaveText(organisation);
});

/** The authorization URL the start of a sign-in redirects to, with this API context's session holding its state. */
async function start(api: APIRequestContext): Promise<URL> {
  const started = await api.get('/auth/oidc/start', { maxRedirects: 0 });
  expect(started.status()).toBe(303);
  const url = new URL(started.headers()['location']);
  expect(url.origin).toBe(issuer());
  for (const parameter of ['state', 'nonce', 'code_challenge']) expect(url.searchParams.get(parameter)).toBeTruthy();
  expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  return url;
}

/** Follows the identity provider's redirects (signing `login` in by hint) until they come back to Latchkey. */
async function throughProvider(api: APIRequestContext, authorization: URL, login: string): Promise<URL> {
  authorization.searchParams.set('login_hint', login);
  let next = authorization.toString();
  for (let hop = 0; hop < 10; hop++) {
    const answer = await api.get(next, { maxRedirects: 0 });
    const location = answer.headers()['location'];
    if (!location) throw new Error(`no redirect from ${next}: ${answer.status()} ${await answer.text()}`);
    const url = new URL(location, next);
    if (url.origin === branded()) return url;
    next = url.toString();
  }
  throw new Error('the identity provider kept redirecting');
}

/** Where Latchkey sends the browser after its callback. */
async function callback(api: APIRequestContext, url: URL): Promise<string> {
  const answer = await api.get(url.toString(), { maxRedirects: 0 });
  expect(answer.status()).toBe(303);
  return answer.headers()['location'];
}

async function freshApi(): Promise<APIRequestContext> {
  return playwrightRequest.newContext({ baseURL: branded() });
}

test('the callback refuses a wrong state, a replayed code, a wrong nonce and an expired ID token', async () => {
  const api = await freshApi();
  try {
    // A wrong state: the sign-in is refused, and the state it was waiting for is spent.
    let back = await throughProvider(api, await start(api), email());
    back.searchParams.set('state', 'forged-state');
    expect(await callback(api, back)).toBe('/sign-in?error=failed');
    await expect.poll(serverLog).toContain('state does not match');

    // A code used once works; replayed with a fresh state, the identity provider refuses it.
    const person = email();
    back = await throughProvider(api, await start(api), person);
    expect(await callback(api, back)).toBe('/');
    const code = back.searchParams.get('code') ?? '';
    const replay = new URL(back);
    const fresh = await start(api);
    replay.searchParams.set('state', fresh.searchParams.get('state') ?? '');
    replay.searchParams.set('code', code);
    expect(await callback(api, replay)).toBe('/sign-in?error=failed');
    await expect.poll(serverLog).toMatch(/code exchange: .*invalid_grant/);

    // A nonce other than the one this session sent.
    const authorization = await start(api);
    authorization.searchParams.set('nonce', 'not-the-session-nonce');
    back = await throughProvider(api, authorization, email());
    expect(await callback(api, back)).toBe('/sign-in?error=failed');
    await expect.poll(serverLog).toContain('Invalid nonce');

    // An ID token that expired an hour ago: the provider's clock is two hours behind when it issues it.
    back = await throughProvider(api, await start(api), email());
    await fetch(`${issuer()}/__clock?offset=-7200`, { method: 'POST' });
    try {
      expect(await callback(api, back)).toBe('/sign-in?error=failed');
    } finally {
      await fetch(`${issuer()}/__clock?offset=0`, { method: 'POST' });
    }
    await expect.poll(serverLog).toContain('Expired');
  } finally {
    await api.dispose();
  }
});

test('after the identity provider rotates its signing key, the unknown kid makes Latchkey fetch the keys again', async () => {
  const api = await freshApi();
  try {
    expect(await callback(api, await throughProvider(api, await start(api), email()))).toBe('/');
    await fetch(`${issuer()}/__rotate`, { method: 'POST' });
    const other = await freshApi();
    try {
      expect(await callback(other, await throughProvider(other, await start(other), email()))).toBe('/');
    } finally {
      await other.dispose();
    }
    await expect.poll(serverLog).toContain('fetching the identity provider');
  } finally {
    await api.dispose();
  }
});

async function signUpWithPassword(page: Page, address: string): Promise<void> {
  await page.goto(`${branded()}/sign-up`);
  await hydrated(page);
  await page.getByLabel('Email').fill(address);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/o\/[^/]+\/keys$/);
}

test('an address the identity provider has not verified never takes over a password account; a verified one links it', async ({ page, browser }) => {
  const address = email();
  await signUpWithPassword(page, address);
  const own = new URL(page.url()).pathname;

  const mallory = await browser.newContext();
  const malloryPage = await mallory.newPage();
  await malloryPage.goto(`${branded()}/sign-in`);
  await malloryPage.getByRole('link', { name: 'Sign in with Acme ID' }).click();
  await malloryPage.getByLabel('Login').fill(`unverified;${address}`);
  await malloryPage.getByRole('button', { name: 'Continue' }).click();
  await expect(malloryPage).toHaveURL(/\/sign-in\?error=email_taken$/);
  await expect(malloryPage.getByRole('alert')).toContainText('has not verified that the address is yours');
  await mallory.close();

  const owner = await browser.newContext();
  const ownerPage = await owner.newPage();
  await ownerPage.goto(`${branded()}/sign-in`);
  await ownerPage.getByRole('link', { name: 'Sign in with Acme ID' }).click();
  await ownerPage.getByLabel('Login').fill(address);
  await ownerPage.getByRole('button', { name: 'Continue' }).click();
  await expect(ownerPage).toHaveURL(new RegExp(`${own}$`));
  await owner.close();
});

test('branded pages at phone and desktop width', async ({ page }) => {
  for (const [name, width, height] of [['phone', 375, 812], ['desktop', 1280, 800]] as const) {
    await page.setViewportSize({ width, height });
    await page.goto(`${branded()}/sign-in`);
    await hydrated(page);
    await page.screenshot({ path: path.join(screens, `${name}_branded-sign-in.png`), fullPage: true });
    await page.goto(`${branded()}/portal/unusable?reason=used`);
    await hydrated(page);
    await page.screenshot({ path: path.join(screens, `${name}_portal-link-used.png`), fullPage: true });
  }
  await page.goto(`${providerApp()}/settings?user=usr_shots&email=grace@acme.example`);
  await page.getByRole('button', { name: 'Manage API keys' }).click();
  await expect(page).toHaveURL(/\/o\/[^/]+\/keys$/);
  await hydrated(page);
  for (const [name, width, height] of [['phone', 375, 812], ['desktop', 1280, 800]] as const) {
    await page.setViewportSize({ width, height });
    await page.reload();
    await hydrated(page);
    await page.screenshot({ path: path.join(screens, `${name}_branded-keys.png`), fullPage: true });
  }
});
