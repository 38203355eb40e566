// Per-viewer data in an Express app behind Gantry: the router passes the viewer
// in X-Gantry-User / X-Gantry-Groups (client-sent copies are stripped) and a signed
// JWT in Gantry-Identity that `jose` can verify against Gantry's JWKS.
const http = require('node:http');

const BASE = (process.env.GANTRY_BASE_PATH || '/').replace(/\/$/, '');
const SALES = [
  { region: 'emea', owner: 'alice', amount: 120 },
  { region: 'emea', owner: 'bob', amount: 80 },
  { region: 'amer', owner: 'carol', amount: 200 },
];

function viewer(req) {
  const user = req.headers['x-gantry-user'];
  const groups = (req.headers['x-gantry-groups'] || '').split(',').filter(Boolean);
  return { user, groups };
}

function visibleRows({ user, groups }) {
  if (groups.includes('executives')) return SALES;
  const regions = new Set(groups.filter((g) => g.startsWith('region-')).map((g) => g.slice(7)));
  return SALES.filter((r) => regions.has(r.region) || r.owner === user);
}

http
  .createServer((req, res) => {
    if (req.url.split('?')[0] !== `${BASE}/`) {
      res.writeHead(404).end();
      return;
    }
    const v = viewer(req);
    if (!v.user) {
      res.writeHead(401).end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ viewer: v.user, groups: v.groups, rows: visibleRows(v) }));
  })
  .listen(Number(process.env.PORT), '0.0.0.0');

// With jose (npm i jose), verify the signed identity instead of trusting headers:
//   const { createRemoteJWKSet, jwtVerify } = require('jose');
//   const jwks = createRemoteJWKSet(new URL(`${process.env.GANTRY_PUBLIC_URL}/.well-known/jwks.json`));
//   const { payload } = await jwtVerify(req.headers['gantry-identity'], jwks,
//     { audience: `${process.env.GANTRY_PUBLIC_URL}${BASE}/` });
//   payload.sub, payload.email, payload.groups
