// Tiny static server for build/ with the production CSP, SPA fallback, gzip, and a proxy to the API:
// lets the built app be checked under the real CSP before (or without) the API serving it.
// Usage: node scripts/serve-build.mjs [port]   (API_URL defaults to http://127.0.0.1:8080)
import { createServer, request as httpRequest } from 'node:http';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = new URL('../build/', import.meta.url).pathname;
const PORT = Number(process.argv[2] ?? process.env.PORT ?? 4173);
const API = new URL(process.env.API_URL ?? 'http://127.0.0.1:8080');
const PROXIED = ['/api', '/files', '/health', '/openapi.json', '/docs'];

// The production policy. The API's signed /files/ links are absolute URLs of the API's own origin, which is
// 'self' when the API serves the app; here the app has another port, so that origin is allowed for images
// and media only (nothing else is relaxed).
const FILES = API.origin;
export const CSP =
	`default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' ${FILES} data: blob: https:; ` +
	`media-src 'self' ${FILES} blob: https:; connect-src 'self'; font-src 'self'; object-src 'none'; ` +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.woff2': 'font/woff2',
	'.woff': 'font/woff',
	'.json': 'application/json',
	'.png': 'image/png',
	'.ico': 'image/x-icon'
};

function proxy(req, res) {
	const upstream = httpRequest(
		{ host: API.hostname, port: API.port, method: req.method, path: req.url, headers: req.headers },
		(up) => {
			res.writeHead(up.statusCode ?? 502, up.headers);
			up.pipe(res);
		}
	);
	upstream.on('error', () => {
		if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
		res.end('API unreachable');
	});
	req.pipe(upstream);
}

createServer((req, res) => {
	const url = new URL(req.url ?? '/', 'http://localhost');
	if (PROXIED.some((p) => url.pathname === p || url.pathname.startsWith(p + '/'))) return proxy(req, res);

	let file = normalize(join(ROOT, decodeURIComponent(url.pathname)));
	if (!file.startsWith(ROOT) || !existsSync(file) || statSync(file).isDirectory()) file = join(ROOT, 'index.html');
	const type = TYPES[extname(file)] ?? 'application/octet-stream';
	const headers = {
		'content-type': type,
		'content-security-policy': CSP,
		'x-content-type-options': 'nosniff',
		'cache-control': file.includes('/_app/immutable/') ? 'public, max-age=31536000, immutable' : 'no-cache'
	};
	const gzip = /\.(js|css|html|svg|json)$/.test(file) && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
	if (gzip) {
		const body = gzipSync(readFileSync(file));
		res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': body.length, vary: 'accept-encoding' });
		res.end(req.method === 'HEAD' ? undefined : body);
		return;
	}
	res.writeHead(200, { ...headers, 'content-length': statSync(file).size });
	if (req.method === 'HEAD') res.end();
	else createReadStream(file).pipe(res);
}).listen(PORT, '127.0.0.1', () => {
	console.log(`serving build/ on http://127.0.0.1:${PORT} (CSP on, API proxied to ${API.origin})`);
});
