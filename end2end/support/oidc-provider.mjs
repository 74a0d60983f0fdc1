// A real OpenID Connect provider for the browser tests: npm's `oidc-provider` (a certified implementation)
// on a loopback port, with Latchkey registered as a confidential client. Started by the global setup as
//   node support/oidc-provider.mjs <port> <redirect_uri>
// and prints "ready" once it listens.
//
// People: whoever signs in is who they type. The login `alice@idp.test` is an account with that verified
// address; prefixes before a `;` change what the ID token says: `unverified` (email_verified: false),
// `org=<external id>` and `role=<role>` (the organisation claim and role claim), e.g.
// `org=cus_7,role=admin;bob@idp.test`; `userinfo` leaves the address, name and organisation claims out of the
// ID token, so that they come only from the userinfo endpoint (OpenID Connect's default for the code flow,
// as Keycloak and Okta answer without a mapper). A login hint in the authorization request signs that login in
// without the form, for tests that drive the flow by HTTP.
//
// Test controls (not part of any protocol): POST /__rotate swaps the signing key for a new one (a new
// `kid`), POST /__clock?offset=<seconds> shifts the provider's clock, so that it issues ID tokens from the
// past.
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const [portArg, redirectUri] = process.argv.slice(2);
const port = Number(portArg);
const issuer = `http://127.0.0.1:${port}`;
export const CLIENT_ID = 'latchkey';
export const CLIENT_SECRET = 'latchkey-e2e-client-secret';

const realNow = Date.now;
let offsetMs = 0;
Date.now = () => realNow() + offsetMs;

function parseLogin(login, use) {
  const [flags, email] = login.includes(';') ? login.split(';', 2) : ['', login];
  const claims = { email: email.trim(), email_verified: true, name: email.split('@')[0] };
  let userinfoOnly = false;
  for (const flag of flags.split(',').map((f) => f.trim()).filter(Boolean)) {
    const [name, value] = flag.split('=');
    if (name === 'unverified') claims.email_verified = false;
    if (name === 'org') claims.org = value;
    if (name === 'role') claims.org_role = value;
    if (name === 'userinfo') userinfoOnly = true;
  }
  return userinfoOnly && use === 'id_token' ? {} : claims;
}

let keyNumber = 0;
async function signingKey() {
  keyNumber += 1;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `e2e-key-${keyNumber}-${realNow()}`, alg: 'RS256', use: 'sig' };
}

async function makeProvider() {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [await signingKey()] },
    cookies: { keys: ['latchkey-e2e-cookie-key'] },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'org'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], org: ['org', 'org_role'] },
    // Claims in the ID token itself, as many providers put them.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, accountId) => ({
      accountId,
      claims: async (use) => ({ sub: accountId, ...parseLogin(accountId, use) }),
    }),
    // A first-party client: no consent screen.
    loadExistingGrant: async (ctx) => {
      const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile org');
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${out.error}</h1><p>${out.error_description ?? ''}</p>`;
    },
  });
  return provider;
}

let provider = await makeProvider();

function loginPage(uid) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme ID</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 24rem; margin: 3rem auto">
<h1>Acme ID</h1>
<form method="post" action="/interaction/${uid}/login">
<label>Login <input name="login" autocomplete="username" required></label>
<button type="submit">Continue</button>
</form></body></html>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/favicon.ico') {
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__rotate') {
      provider = await makeProvider();
      res.end('rotated');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__clock') {
      offsetMs = Number(url.searchParams.get('offset') ?? 0) * 1000;
      res.end(`offset ${offsetMs / 1000}s`);
      return;
    }
    const login = url.pathname.match(/^\/interaction\/([^/]+)\/login$/);
    if (req.method === 'POST' && login) {
      const form = await readBody(req);
      await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } }, { mergeWithLastSubmission: false });
      return;
    }
    const interaction = url.pathname.match(/^\/interaction\/([^/]+)$/);
    if (req.method === 'GET' && interaction) {
      const details = await provider.interactionDetails(req, res);
      const hint = details.params.login_hint;
      if (details.prompt.name === 'login' && hint) {
        await provider.interactionFinished(req, res, { login: { accountId: hint } }, { mergeWithLastSubmission: false });
        return;
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(loginPage(details.uid));
      return;
    }
    provider.callback()(req, res);
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
