// Vite configuration: SvelteKit plugin and the dev-server proxy to the Rust API.
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';
import { readFileSync } from 'node:fs';

const api = process.env.API_URL ?? 'http://127.0.0.1:8080';
/** Length and pattern rules of the request schemas, read from the API document at build time. */
function apiRules() {
	type Prop = { minLength?: number; maxLength?: number; pattern?: string };
	type Schema = { properties?: Record<string, Prop> };
	const doc = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8'));
	const pick = (schema: Schema | undefined) =>
		Object.fromEntries(
			Object.entries(schema?.properties ?? {}).map(([name, p]) => [
				name,
				{ minLength: p.minLength, maxLength: p.maxLength, pattern: p.pattern }
			])
		);
	return {
		signup: pick(doc.components?.schemas?.SignupRequest),
		login: pick(doc.components?.schemas?.LoginRequest),
		report: pick(doc.components?.schemas?.ReportRequest),
		decision: pick(doc.components?.schemas?.DecisionRequest),
		round: pick(doc.components?.schemas?.NewRoundRequest),
		upload: pick(doc.paths?.['/api/videos/upload']?.post?.requestBody?.content?.['multipart/form-data']?.schema)
	};
}

/** The upload rules the API publishes on its upload operation (`x-upload-rules`); the build fails without them. */
function uploadRules() {
	const doc = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8'));
	const rules = doc.paths?.['/api/videos/upload']?.post?.['x-upload-rules'];
	if (!rules) {
		throw new Error('docs/openapi.json has no x-upload-rules on POST /api/videos/upload');
	}
	return rules;
}

/**
 * SvelteKit's generated root component gives its route announcer an inline style attribute, which the
 * CSP (style-src 'self') blocks. Drop the attribute before compilation; app.css styles #svelte-announcer.
 */
function announcerWithoutInlineStyle(): Plugin {
	return {
		name: 'rising-stars:announcer-without-inline-style',
		enforce: 'pre',
		transform(code, id) {
			if (!id.endsWith('generated/root.svelte')) return;
			const out = code.replace(/(<div id="svelte-announcer"[^>]*?)\s+style="[^"]*"/, '$1');
			if (out === code && code.includes('svelte-announcer')) {
				this.warn('svelte-announcer markup changed: check it has no inline style');
			}
			return out;
		}
	};
}

const proxied = ['/api', '/files', '/health', '/openapi.json', '/docs'];

export default defineConfig({
	plugins: [announcerWithoutInlineStyle(), sveltekit()],
	define: { __API_RULES__: JSON.stringify(apiRules()), __UPLOAD_RULES__: JSON.stringify(uploadRules()) },
	server: {
		host: '127.0.0.1',
		port: 5173,
		strictPort: true,
		proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: false }]))
	},
	build: {
		target: 'es2022',
		// Keep every asset a file of its own: no data: URLs for fonts (font-src is 'self').
		assetsInlineLimit: 0
	}
});
