// SvelteKit configuration: a static SPA (adapter-static with an index.html fallback) served by the API.
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	compilerOptions: {
		runes: true
	},
	kit: {
		adapter: adapter({
			pages: 'build',
			assets: 'build',
			fallback: 'index.html',
			precompress: false,
			strict: true
		}),
		// Absolute asset paths so the fallback page works at deep URLs like /videos/<id>.
		paths: { relative: false },
		prerender: { entries: [] },
		// Never inline CSS into the HTML: the CSP allows only stylesheets from 'self'.
		inlineStyleThreshold: 0,
		version: { pollInterval: 0 },
		// One JS and one CSS file: fewer round trips on a cold load (the whole app is ~55 KB gzipped).
		output: { bundleStrategy: 'single' }
	}
};

export default config;
