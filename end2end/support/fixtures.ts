// Shared steps and checks for the portal's browser tests.
import { expect, test as base, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const PASSWORD = 'correct horse battery staple';

/** Where a signed-in person lands: the keys of their (first) organisation. */
export const HOME = /\/o\/[^/]+\/keys$/;

/** The release binary the tests run against. */
export const binary = process.env.LATCHKEY_BIN ?? path.resolve(__dirname, '../../target/release/latchkey');

/** Runs the CLI against the server's own database, as an operator would; answers its standard output. */
export function cli(args: string[], input?: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  return execFileSync(binary, args, { cwd: process.env.LATCHKEY_E2E_WORKDIR, env: { ...env, LATCHKEY_LOG: 'warn' }, input })
    .toString()
    .trim();
}

/**
 * Reloads the page until its usage total reads `total`, then waits for hydration: counts reach the
 * database within a second of the verification.
 */
export async function untilUsageTotal(page: Page, total: string): Promise<void> {
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('usage-total')).toHaveText(total, { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await hydrated(page);
}

/** A fresh address per test, so tests never share an account. */
export function newEmail(): string {
  return `user-${randomBytes(6).toString('hex')}@example.com`;
}

/**
 * Fails the test on any console error or uncaught exception: hydration mismatches, CSP refusals, panics,
 * missing files. Two kinds of 4xx are expected rather than errors: a server function refusing bad input
 * (`/api/…`, which the page then explains) and a page the test opened knowing it does not exist.
 */
export const test = base.extend<{ expectedMissing: Set<string>; consoleErrors: string[] }>({
  // Paths a test opens knowing they answer 404; add to it before opening them.
  expectedMissing: async ({}, use) => {
    await use(new Set<string>());
  },
  consoleErrors: [
    async ({ page, expectedMissing }, use) => {
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        const text = message.text();
        const source = new URL(message.location().url || 'about:blank', 'http://x');
        const refusal = /status of 4\d\d/.test(text);
        const expected = source.pathname.startsWith('/api/') || source.pathname.startsWith('/no-such-') || expectedMissing.has(source.pathname);
        if (refusal && expected) return;
        errors.push(`${text} (${message.location().url})`);
      });
      page.on('pageerror', (error) => errors.push(error.message));
      await use(errors);
      expect(errors, 'the browser console stayed clean').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Opens `path` and waits until the page has hydrated, so that forms run through the app, not a bare POST. */
export async function open(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await hydrated(page);
}

export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function signUp(page: Page, email: string, password = PASSWORD): Promise<void> {
  await open(page, '/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.waitForURL(HOME);
  await hydrated(page);
}

/** Makes an operator account with the CLI and signs it in; answers its address. */
export async function signInAsNewOperator(page: Page, email = newEmail()): Promise<string> {
  cli(['account', 'create', '--email', email, '--password-stdin', '--operator'], `${PASSWORD}\n`);
  await open(page, '/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(HOME);
  return email;
}

/** Opens one of the operator's pages from the header's "Operator" menu, as an operator does on a desktop. */
export async function openOperatorPage(page: Page, name: string): Promise<void> {
  await page.locator('.operator-menu > summary').click();
  await page.locator('.operator-menu-panel').getByRole('link', { name, exact: true }).click();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByLabel('Account menu').click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL(/\/sign-in/);
  await hydrated(page);
}

/** One message the test SMTP server accepted. */
export interface Mail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** Waits (up to 20 s; the sender looks every 2 s) for a message to `to` whose subject starts with `subject`. */
export async function mailTo(to: string, subject: string): Promise<Mail> {
  const dir = process.env.LATCHKEY_E2E_MAIL_DIR;
  if (!dir) throw new Error('LATCHKEY_E2E_MAIL_DIR is not set: the global setup starts the SMTP server');
  let found: Mail | undefined;
  await expect(async () => {
    const messages = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Mail);
    found = messages.reverse().find((mail) => mail.to.includes(to) && mail.subject.startsWith(subject));
    expect(found, `a message "${subject}…" to ${to}`).toBeTruthy();
  }).toPass({ timeout: 20_000 });
  return found as Mail;
}

/** The first link in `text` under `prefix`. */
export function linkIn(text: string, prefix: string): string {
  const start = text.indexOf(prefix);
  if (start < 0) throw new Error(`no ${prefix} link in:\n${text}`);
  return text.slice(start).split(/\s/)[0];
}

const screens = path.join(__dirname, '..', 'test-results', 'screens');

/**
 * Screenshots the page at phone (375 px) and desktop (1280 px) width into test-results/screens/, and fails
 * when it scrolls sideways at either; the viewport is put back afterwards.
 */
export async function shoot(page: Page, name: string): Promise<void> {
  const size = page.viewportSize();
  for (const { label, width, height } of [
    { label: 'phone', width: 375, height: 812 },
    { label: 'desktop', width: 1280, height: 800 },
  ]) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: path.join(screens, `${label}_${name}.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
  }
  if (size) await page.setViewportSize(size);
}
