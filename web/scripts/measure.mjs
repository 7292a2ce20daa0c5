// Measures the showcase and rankings pages N times with a cold cache (a new browser context each time):
// JS+CSS bytes transferred, first contentful paint, and a time-to-interactive proxy (the later of
// DOMContentLoaded and the first grid card / table row on screen). Prints median and p95 as Markdown.
// Usage: WEB_BASE_URL=http://127.0.0.1:8080 node scripts/measure.mjs [runs=10]
import { chromium } from 'playwright';

const base = process.env.WEB_BASE_URL ?? 'http://127.0.0.1:8080';
const runs = Number(process.argv[2] ?? process.env.RUNS ?? 10);
const pages = [
	{ name: 'Vitrina `/`', path: '/', ready: 'ul.grid > li, .empty' },
	{ name: 'Rankings `/rankings`', path: '/rankings', ready: 'table tbody tr, .empty' }
];

// Runs in the page before any of its scripts: notes when the first card or row is in the DOM.
const observe = (selector) => {
	const mark = () => {
		if (window.__firstRow === undefined && document.querySelector(selector)) {
			window.__firstRow = performance.now();
			return true;
		}
		return false;
	};
	new MutationObserver((_, obs) => {
		if (mark()) obs.disconnect();
	}).observe(document, { childList: true, subtree: true });
};

function stats(values) {
	const v = [...values].sort((a, b) => a - b);
	const at = (q) => v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)];
	return { median: v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2, p95: at(0.95) };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const rows = [];
try {
	for (const p of pages) {
		const m = { bytes: [], requests: [], fcp: [], dcl: [], tti: [] };
		for (let i = 0; i < runs; i++) {
			const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
			const page = await context.newPage();
			await page.addInitScript(observe, p.ready);
			await page.goto(new URL(p.path, base).href, { waitUntil: 'load' });
			await page.waitForSelector(p.ready, { timeout: 30_000 });
			await page.waitForLoadState('networkidle');
			const r = await page.evaluate(() => {
				const nav = performance.getEntriesByType('navigation')[0];
				const fcp = performance.getEntriesByName('first-contentful-paint')[0];
				const assets = performance
					.getEntriesByType('resource')
					.filter((e) => /\.(m?js|css)(\?|$)/.test(new URL(e.name).pathname));
				return {
					// transferSize: compressed body + headers, as sent over the wire (0 would mean cache).
					bytes: assets.reduce((s, e) => s + (e.transferSize || e.encodedBodySize), 0),
					requests: assets.length,
					fcp: fcp ? fcp.startTime : NaN,
					dcl: nav.domContentLoadedEventEnd,
					firstRow: window.__firstRow ?? NaN
				};
			});
			m.bytes.push(r.bytes / 1024);
			m.requests.push(r.requests);
			m.fcp.push(r.fcp);
			m.dcl.push(r.dcl);
			m.tti.push(Math.max(r.dcl, r.firstRow));
			await context.close();
		}
		const f = (k, digits = 0) => {
			const s = stats(m[k]);
			return [s.median.toFixed(digits), s.p95.toFixed(digits)];
		};
		rows.push([p.name, ...f('bytes', 1), ...f('requests'), ...f('fcp'), ...f('dcl'), ...f('tti')]);
	}
} finally {
	await browser.close();
}

console.log(`Measured against ${base}, ${runs} cold loads per page (new context each), Chromium ${browser.version()}, 1280×900.\n`);
console.log(
	'| Page | JS+CSS KB (median) | JS+CSS KB (p95) | JS+CSS requests (median) | (p95) | FCP ms (median) | FCP ms (p95) | DOMContentLoaded ms (median) | (p95) | TTI proxy ms (median) | TTI proxy ms (p95) |'
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log('\nTTI proxy = max(DOMContentLoaded, first grid card / ranking row in the DOM). KB = transferSize (gzip as served).');
