// Setup project: players of a city of this run with processed, published videos, and a verified voter (through the API and the mail folder).
import { test } from '@playwright/test';
import { fixture, loginApi, person, saveWorld, signupApi, uniq, uploadApi, verifiedApi, waitProcessed } from './helpers';

test('world: published, processed videos and a verified voter', async ({ request }) => {
	const city = `Mundo ${uniq()}`;
	const owner = await signupApi(request, person('Valentina', city));
	// Of another city: the world's city shows one published video.
	const elsewhere = `Cantera ${uniq()}`;
	const star = await signupApi(request, person('Sofía', elsewhere));
	const pick = await signupApi(request, person('Martín', elsewhere));
	// Votes need a verified address: the voter follows the link the signup mailed.
	const voter = await verifiedApi(request, person('Mateo', city));

	// All three uploads first: the worker processes them while the next ones are sent.
	const published = async (who: typeof owner, title: string) => {
		const { token } = await loginApi(request, who.email);
		return { token, id: await uploadApi(request, token, fixture('ok-1080p-22s.mp4'), title, true) };
	};
	const videoTitle = `Triples desde la esquina ${uniq()}`;
	const pickVideoTitle = `Bandeja a aro pasado ${uniq()}`;
	const videos = [
		await published(owner, videoTitle),
		await published(star, `Tapón en la línea ${uniq()}`),
		await published(pick, pickVideoTitle)
	];
	for (const v of videos) await waitProcessed(request, v.token, v.id);
	const [video, starVideo, pickVideo] = videos;
	saveWorld({
		city,
		owner,
		voter,
		videoId: video.id,
		videoTitle,
		star,
		starVideoId: starVideo.id,
		pick,
		pickVideoId: pickVideo.id,
		pickVideoTitle
	});
});
