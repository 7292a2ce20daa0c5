// Playwright configuration: Debian's Chromium against the real stack (WEB_BASE_URL, default the API on 8080).
import { defineConfig } from '@playwright/test';

const baseURL = process.env.WEB_BASE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
	testDir: 'tests',
	// Only Playwright's own artifacts live here (it empties this folder); fixtures and screenshots sit beside it.
	outputDir: 'test-results/artifacts',
	globalSetup: './tests/global-setup.ts',
	workers: 2,
	fullyParallel: false,
	retries: 0,
	forbidOnly: !!process.env.CI,
	timeout: 120_000,
	expect: { timeout: 15_000 },
	reporter: [['list']],
	use: {
		baseURL,
		locale: 'es-ES',
		timezoneId: 'UTC',
		launchOptions: { executablePath: '/usr/bin/chromium' },
		trace: 'retain-on-failure',
		screenshot: 'only-on-failure',
		actionTimeout: 15_000,
		navigationTimeout: 30_000
	},
	projects: [
		// Creates the shared players and a processed, published video once per run (tests/world.setup.ts).
		{ name: 'world', testMatch: /world\.setup\.ts/, timeout: 300_000 },
		{
			name: 'chromium',
			testMatch: /.*\.spec\.ts/,
			testIgnore: [/crowd\.spec\.ts/, /rounds\.spec\.ts/],
			dependencies: ['world']
		},
		// Spends the network's votes of the hour (tests/crowd.spec.ts): after everything else.
		{ name: 'crowd', testMatch: /crowd\.spec\.ts/, dependencies: ['chromium'] },
		// Configures voting rounds (tests/rounds.spec.ts): once one exists, votes outside an open round are refused for
		// every city, so it comes last of all (its votes prove their work: crowd spent the network's hour).
		{ name: 'rounds', testMatch: /rounds\.spec\.ts/, dependencies: ['crowd'] }
	]
});
