// Ambient types: SvelteKit's App namespace (unused: static SPA) and the build-time API rules.
declare global {
	namespace App {}

	/** Per request schema and field: the length and pattern rules of the API document (vite.config.ts). */
	const __API_RULES__: Record<
		'signup' | 'login' | 'upload',
		Record<string, { minLength?: number; maxLength?: number; pattern?: string }>
	>;
}

export {};
