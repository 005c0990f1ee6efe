// A real OpenID Connect provider (oidc-provider, its development login and consent forms)
// for tests/tests/oidc.rs. It listens on a free port of 127.0.0.1 and prints
// `issuer http://127.0.0.1:PORT` once it serves. Configured by the environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI  the one static client
//   OIDC_ACCOUNTS  JSON: account id -> claims, e.g. {"eva": {"email": "eva@x.se"}}
// For tests only: its cookie keys and signing keys are not secrets.
import http from 'node:http';
import Provider from 'oidc-provider';

const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? '{}');
const server = http.createServer();

server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
    },
    // The claims of the scopes asked for go into the ID token too, not only to userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['kvitt-oidc-test-only'] },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) };
    },
  });
  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
});
