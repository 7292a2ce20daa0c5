// Ambient types: SvelteKit's App namespace (unused: static SPA) and the build-time API rules.
declare global {
	namespace App {}

	/** Per request schema and field: the length and pattern rules of the API document (vite.config.ts). */
	const __API_RULES__: Record<
		'signup' | 'login' | 'upload' | 'report' | 'decision' | 'round',
		Record<string, { minLength?: number; maxLength?: number; pattern?: string }>
	>;

	/** The upload rules of the API document (`x-upload-rules`, vite.config.ts). */
	const __UPLOAD_RULES__: {
		max_bytes: number;
		min_seconds: number;
		max_seconds: number;
		min_short_side: number;
		codecs: { name: string; label: string; fourcc: string[] }[];
	};
}

export {};
