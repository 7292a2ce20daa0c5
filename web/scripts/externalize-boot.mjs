// Post-build step: moves SvelteKit's inline bootstrap <script> of build/*.html into a content-hashed file
// under build/_app/immutable/ (the CSP allows only script-src 'self'), then fails if any inline script or
// style attribute is left in the HTML.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BUILD = new URL('../build/', import.meta.url).pathname;
const IMMUTABLE = join(BUILD, '_app', 'immutable');

const htmlFiles = readdirSync(BUILD).filter((f) => f.endsWith('.html'));
if (htmlFiles.length === 0) {
	console.error('externalize-boot: no HTML file in build/ (did vite build run?)');
	process.exit(1);
}

// An opening <script> tag without a src attribute, its text, and the closing tag.
const INLINE_SCRIPT = /<script(?![^>]*\bsrc\s*=)([^>]*)>([\s\S]*?)<\/script>/gi;
let moved = 0;

for (const name of htmlFiles) {
	const path = join(BUILD, name);
	let html = readFileSync(path, 'utf8');
	html = html.replace(INLINE_SCRIPT, (whole, attrs, body) => {
		if (/\btype\s*=\s*["']?(application\/(ld\+)?json|importmap)/i.test(attrs)) return whole;
		if (body.trim() === '') return whole;
		if (/\btype\s*=\s*["']?module/i.test(attrs)) {
			throw new Error(`${name}: inline module script; expected SvelteKit's classic bootstrap`);
		}
		const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
		const file = `boot-${hash}.js`;
		writeFileSync(join(IMMUTABLE, file), body.trim() + '\n');
		moved++;
		// A classic script (not a module): the bootstrap reads document.currentScript.
		return `<script src="/_app/immutable/${file}"></script>`;
	});
	writeFileSync(path, html);

	const leftScript = [...html.matchAll(INLINE_SCRIPT)].filter(([, attrs, body]) => body.trim() !== '' && !/application\/(ld\+)?json/i.test(attrs));
	const styleAttr = /<[^>]+\sstyle\s*=/i.test(html);
	const styleTag = /<style[\s>]/i.test(html);
	const handlerAttr = /<[^>]+\son[a-z]+\s*=/i.test(html);
	if (leftScript.length || styleAttr || styleTag || handlerAttr) {
		console.error(
			`externalize-boot: ${name} still has inline code the CSP would block:` +
				(leftScript.length ? ' <script> text' : '') +
				(styleAttr ? ' style= attribute' : '') +
				(styleTag ? ' <style> element' : '') +
				(handlerAttr ? ' on*= handler' : '')
		);
		process.exit(1);
	}
}

// Templates compiled into the JS must not carry style attributes either (Svelte clones them from HTML).
const STYLE_IN_TEMPLATE = /<[a-z][\w-]*\s[^<>`]*\bstyle=["']/;
const jsFiles = readdirSync(IMMUTABLE, { recursive: true }).filter((f) => String(f).endsWith('.js'));
for (const f of jsFiles) {
	const js = readFileSync(join(IMMUTABLE, String(f)), 'utf8');
	const m = js.match(STYLE_IN_TEMPLATE);
	if (m) {
		console.error(`externalize-boot: _app/immutable/${f} has markup with an inline style attribute: ${m[0].slice(0, 120)}`);
		process.exit(1);
	}
}

if (moved === 0) {
	console.error('externalize-boot: found no inline bootstrap script to move (did SvelteKit change its output?)');
	process.exit(1);
}
console.log(`externalize-boot: moved ${moved} inline script(s) out of ${htmlFiles.join(', ')}; no inline script or style left.`);
