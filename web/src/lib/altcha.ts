// Loads the ALTCHA widget once, in the browser, when a challenge comes: its CSP-friendly build, a file of its own.
import 'altcha/altcha.css';
// `?url`: emitted as a file as it is, not bundled (the app is one JS file, and most visits never need the widget).
import widgetUrl from 'altcha/external?url';

let loading: Promise<void> | null = null;

/**
 * Defines `<altcha-widget>`. The `external` build injects no styles (style-src 'self': its stylesheet, 6 KB, is
 * bundled into ours) and its solver runs in a worker that Vite emits as a file under /_app (worker-src falls back to
 * script-src 'self'), instead of the default build's worker from a blob: URL. The widget itself (about 26 KB
 * gzipped) is fetched from /_app only now.
 */
export function loadAltcha(): Promise<void> {
	loading ??= Promise.all([import(/* @vite-ignore */ widgetUrl), import('altcha/worker?worker')])
		.then(([, { default: SolverWorker }]) => {
			// The widget starts its solvers through this global; its default looks for worker.js beside itself.
			(globalThis as { altchaCreateWorker?: () => Worker }).altchaCreateWorker = () => new SolverWorker();
		})
		.catch((e: unknown) => {
			loading = null; // a later attempt may load it (the network came back)
			throw e;
		});
	return loading;
}
