// The provider's own app, as a customer sees it, for the browser tests: plain Node http. Its "Manage API
// keys" button asks Latchkey for a portal session server-side, with its service token, and redirects the
// browser to the link. Started by the global setup as
//   node support/provider-app.mjs <port> <latchkey base URL> <service token>
// and prints "ready" once it listens. The signed-in customer is fixed: Ada, an admin of Acme Ltd.
import http from 'node:http';

const [portArg, latchkey, token] = process.argv.slice(2);
const port = Number(portArg);
const origin = `http://127.0.0.1:${port}`;

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 2rem auto"><h1>${title}</h1>${body}</body></html>`;

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, origin);
  if (url.pathname === '/favicon.ico') {
    res.statusCode = 204;
    res.end();
    return;
  }
  if (req.method === 'POST' && url.pathname === '/manage-api-keys') {
    const response = await fetch(`${latchkey}/v1/portal/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        organisation: { external_id: 'cus_acme', name: 'Acme Ltd' },
        user: { external_id: url.searchParams.get('user') ?? 'usr_ada', email: url.searchParams.get('email') ?? 'ada@acme.example', name: 'Ada Lovelace' },
        role: url.searchParams.get('role') ?? 'admin',
        return_url: `${origin}/settings`,
      }),
    });
    const answer = await response.json();
    if (response.status !== 201) {
      res.statusCode = 502;
      res.end(page('Could not open the API keys page', `<pre>${JSON.stringify(answer)}</pre>`));
      return;
    }
    res.statusCode = 303;
    res.setHeader('location', answer.url);
    res.end();
    return;
  }
  if (url.pathname === '/settings' || url.pathname === '/') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    const query = url.search;
    res.end(page('Acme Cloud settings', `<form method="post" action="/manage-api-keys${query}"><button type="submit">Manage API keys</button></form>`));
    return;
  }
  res.statusCode = 404;
  res.end('not found');
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
