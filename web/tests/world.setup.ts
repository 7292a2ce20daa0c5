// Setup project: two players of a city of this run, one with a processed, published video (through the API).
import { test } from '@playwright/test';
import { fixture, loginApi, person, saveWorld, signupApi, uniq, uploadApi, waitProcessed } from './helpers';

test('world: a published, processed video and a voter', async ({ request }) => {
	const city = `Mundo ${uniq()}`;
	const owner = await signupApi(request, person('Valentina', city));
	const voter = await signupApi(request, person('Mateo', city));
	const { token } = await loginApi(request, owner.email);
	const videoTitle = `Triples desde la esquina ${uniq()}`;
	const videoId = await uploadApi(request, token, fixture('ok-1080p-22s.mp4'), videoTitle, true);
	await waitProcessed(request, token, videoId);
	saveWorld({ city, owner, voter, videoId, videoTitle });
});
