// Vitest configuration: the unit tier (`npm run test:unit`), on the app's own Vite config (aliases, __API_RULES__).
import { defineConfig, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config';

export default mergeConfig(
	viteConfig,
	defineConfig({
		test: {
			include: ['src/**/*.test.ts'],
			environment: 'node',
			// Pure logic only: no browser, no API. Each file gets fresh modules (the session is a module singleton).
			isolate: true,
			restoreMocks: true,
			unstubGlobals: true
		}
	})
);
