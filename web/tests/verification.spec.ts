// (g) Votes people can trust: sign up → the mailed link → log in → a vote that counts; an unverified vote asks
// for the link and "Reenviar correo" mails another; a used link; a vote held for review, and its player's count.
import { expect, test } from '@playwright/test';
import {
	PASSWORD,
	loadWorld,
	loginApi,
	loginThroughForm,
	mailedLinks,
	openLoggedIn,
	person,
	signupApi,
	uniq,
	verificationLink,
	verifiedApi,
	voteApi,
	watchConsole
} from './helpers';

test('sign up, open the mailed link, log in and vote: the vote counts', async ({ page }) => {
	const w = loadWorld();
	const problems = watchConsole(page);
	const lucia = person('Lucía', `Enlace ${uniq()}`);

	await page.goto('/registro');
	await page.getByLabel('Nombre', { exact: true }).fill(lucia.first_name);
	await page.getByLabel('Apellido').fill(lucia.last_name);
	await page.getByLabel('Correo electrónico').fill(lucia.email);
	await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
	await page.getByLabel('Repite la contraseña').fill(PASSWORD);
	await page.getByLabel('Ciudad').fill(lucia.city);
	await page.getByLabel('País').fill(lucia.country);
	await page.getByRole('button', { name: 'Crear cuenta' }).click();

	// Not "you can vote now": where the link went.
	const panel = page.getByTestId('check-mail');
	await expect(panel.getByRole('heading', { level: 1, name: 'Revisa tu correo' })).toBeFocused();
	await expect(panel).toContainText(lucia.email);
	await expect(panel).toContainText('para poder votar');

	// She reads her mail later, in a browser where she is not logged in.
	await page.getByRole('button', { name: 'Salir' }).click();
	const link = await verificationLink(lucia.email);
	expect(link).toMatch(/^\/verificar\?token=/);
	await page.goto(link);
	await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
	// The spent token leaves the address bar: a reload shows the outcome, it does not send the token again.
	await expect(page).toHaveURL(/\/verificar\?estado=ok$/);
	await page.getByRole('main').getByRole('link', { name: 'Ingresar' }).click();
	await loginThroughForm(page, lucia.email);
	await expect(page.getByRole('button', { name: 'Salir' })).toBeVisible();

	await page.goto(`/videos/${w.starVideoId}`);
	const before = Number(await page.getByTestId('vote-count').textContent());
	const answer = page.waitForResponse((r) => r.url().endsWith('/vote') && r.request().method() === 'POST');
	await page.getByRole('button', { name: 'Votar' }).click();
	expect((await (await answer).json()).status).toBe('counted');
	await expect(page.getByRole('button', { name: '¡Votaste!' })).toBeDisabled();
	await expect(page.getByText('Tu voto quedó registrado.')).toBeVisible();
	await expect(page.getByTestId('vote-count')).toHaveText(String(before + 1));
	expect(problems).toEqual([]);
});

test('an unverified vote asks for the link, and "Reenviar correo" mails another', async ({ page, request }) => {
	const w = loadWorld();
	const problems = watchConsole(page);
	const diego = await signupApi(request, person('Diego', `Reenvío ${uniq()}`));
	await verificationLink(diego.email);

	await openLoggedIn(page, request, diego.email, `/videos/${w.videoId}`);
	const before = await page.getByTestId('vote-count').textContent();
	await page.getByRole('button', { name: 'Votar' }).click();
	const refusal = page.getByTestId('vote-unverified');
	await expect(refusal).toContainText('Verifica tu correo electrónico para votar');
	await expect(page.getByRole('button', { name: 'Votar' })).toBeEnabled();
	await expect(page.getByTestId('vote-count')).toHaveText(before!);

	// The server allows one mail a while (EMAIL_VERIFICATION_RESEND_SECONDS): a click too soon shows the wait,
	// and the button comes back when it has passed.
	const resend = refusal.getByRole('button', { name: 'Reenviar correo' });
	await resend.click();
	const sent = refusal.getByTestId('resend-sent');
	const wait = refusal.getByTestId('resend-wait');
	await expect(sent.or(wait)).toBeVisible();
	if (await wait.isVisible()) {
		await expect(wait).toHaveText(/Podrás pedir otro correo en \d+ (s|minutos?)\./);
		await expect(resend).toBeDisabled();
		await expect(resend).toBeEnabled({ timeout: 75_000 });
		await resend.click();
	}
	await expect(sent).toHaveText(/Te enviamos un nuevo enlace/);
	const second = await verificationLink(diego.email, 2);
	expect(mailedLinks(diego.email)).toHaveLength(2);

	// The account area says the same until the address is verified.
	await page.goto('/mis-videos');
	const notice = page.getByTestId('verify-notice');
	await expect(notice.getByRole('heading', { name: 'Confirma tu correo electrónico' })).toBeVisible();
	await expect(notice).toContainText(diego.email);
	await expect(notice.getByRole('button', { name: 'Reenviar correo' })).toBeVisible();

	// The new link verifies; the notice goes; opened again, the link is spent, and the page says there is nothing to do.
	await page.goto(second);
	await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
	await expect(page.getByText('Tu dirección quedó confirmada. Ya puedes votar')).toBeVisible();
	await page.goto('/mis-videos');
	await expect(page.getByRole('heading', { level: 1, name: 'Mis videos' })).toBeVisible();
	await expect(page.getByTestId('verify-notice')).toHaveCount(0);
	await page.goto(second);
	await expect(page.getByText('Tu correo ya estaba verificado')).toBeVisible();
	expect(problems).toEqual([]);
});

test('a spent link, logged out, says so and offers to log in for a new one', async ({ page, request }) => {
	const ines = await signupApi(request, person('Inés', `Gastado ${uniq()}`));
	const link = await verificationLink(ines.email);
	expect((await request.post('/api/auth/verify', { data: { token: new URL(link, 'http://x').searchParams.get('token') } })).status()).toBe(200);
	await page.goto(link);
	await expect(page.getByRole('heading', { level: 1, name: 'Este enlace ya no sirve' })).toBeVisible();
	await expect(page).toHaveURL(/\/verificar\?estado=usado$/);
	await expect(page.getByText('Ingresa para pedir un enlace nuevo.')).toBeVisible();
	await expect(page.getByRole('main').getByRole('link', { name: 'Ingresar' })).toHaveAttribute('href', /\/ingresar\?next=%2Fmis-videos/);
});

test('a vote held for review says so, and its player sees it apart in "Mis videos"', async ({ page, request }) => {
	const w = loadWorld();
	const problems = watchConsole(page);
	const city = `Revisión ${uniq()}`;
	// Young accounts of one network (all of these come from 127.0.0.1): two votes for a player count, the third is
	// held (VOTE_YOUNG_BURST, as shipped).
	for (const name of ['Elena', 'Hugo']) {
		const fan = await verifiedApi(request, person(name, city));
		const res = await voteApi(request, (await loginApi(request, fan.email)).token, w.pickVideoId);
		expect(res.status(), await res.text()).toBe(200);
		expect((await res.json()).status).toBe('counted');
	}
	const third = await verifiedApi(request, person('Rocío', city));
	await openLoggedIn(page, request, third.email, `/videos/${w.pickVideoId}`);
	await expect(page.getByTestId('vote-count')).toHaveText('2');
	await page.getByRole('button', { name: 'Votar' }).click();
	await expect(page.getByRole('button', { name: 'En revisión' })).toBeDisabled();
	await expect(page.getByText('Voto registrado; queda en revisión antes de contar en el ranking.')).toBeVisible();
	await expect(page.getByTestId('vote-count')).toHaveText('2');
	await page.reload();
	await expect(page.getByRole('button', { name: 'Ya votaste' })).toBeDisabled();

	await openLoggedIn(page, request, w.pick.email, '/mis-videos');
	const item = page.locator('li.item', { hasText: w.pickVideoTitle });
	await expect(item.getByTestId('votes')).toHaveText('2 votos');
	await expect(item.getByTestId('held-votes')).toHaveText('1 voto en revisión');
	await expect(item.getByText('El jurado los revisa antes de sumarlos al ranking')).toBeVisible();
	// No such line where nothing is held.
	await openLoggedIn(page, request, w.owner.email, '/mis-videos');
	await expect(page.locator('li.item', { hasText: w.videoTitle }).getByTestId('held-votes')).toHaveCount(0);
	expect(problems).toEqual([]);
});
