// (h) A crowd behind one address: past the network's hourly votes (VOTE_MAX_PER_NETWORK_PER_HOUR) a vote needs a
// proof of work, and the browser's ALTCHA widget solves it so the vote goes through. It spends the network's votes,
// so it runs after every other spec (its own Playwright project).
import { expect, test } from '@playwright/test';
import { loadWorld, loginApi, openLoggedIn, person, uniq, verifiedApi, voteApi, watchConsole } from './helpers';

test('past the network’s votes of the hour, the widget proves the work and the vote goes through', async ({ page, request }) => {
	test.setTimeout(180_000);
	const w = loadWorld();
	const problems = watchConsole(page);
	const city = `Estadio ${uniq()}`;

	// Every vote attempt from this network counts against its hour, a second one for the same video too: spend them.
	const { token } = await loginApi(request, (await verifiedApi(request, person('Gradería', city))).email);
	let challenged = false;
	for (let i = 0; i < 1000 && !challenged; i++) {
		const res = await voteApi(request, token, w.videoId);
		if (res.status() === 429) {
			challenged = (await res.json()).challenge !== undefined;
			expect(challenged, 'a network past its votes gets a challenge, not a lockout').toBe(true);
		} else {
			expect([200, 400], await res.text()).toContain(res.status());
		}
	}
	expect(challenged).toBe(true);

	// A fan behind the same address votes through the page.
	const fan = await verifiedApi(request, person('Hincha', city));
	const votes: { status: number; proof: boolean }[] = [];
	page.on('response', (r) => {
		if (r.url().endsWith(`/api/public/videos/${w.videoId}/vote`) && r.request().method() === 'POST') {
			votes.push({ status: r.status(), proof: r.request().headers()['altcha'] !== undefined });
		}
	});
	await openLoggedIn(page, request, fan.email, `/videos/${w.videoId}`);
	await page.getByRole('button', { name: 'Votar' }).click();
	// Counted or held (young accounts of one network): either way recorded, never refused.
	await expect(page.getByRole('button', { name: /¡Votaste!|En revisión/ })).toBeDisabled({ timeout: 60_000 });
	expect(votes).toEqual([
		{ status: 429, proof: false },
		{ status: 200, proof: true }
	]);
	await expect(page.getByTestId('proof')).toHaveCount(0);
	expect(problems).toEqual([]);
});
