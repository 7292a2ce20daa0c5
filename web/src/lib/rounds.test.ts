// Rounds without a browser: the new-round form's checks and body, time left, and which round the rankings page shows.
import { describe, expect, it } from 'vitest';
import type { Round } from '$lib/api/client';
import { cityList, covers, localInput, roundBody, roundsToShow, timeLeft } from './rounds';
import { t } from './i18n';

const now = new Date('2026-03-01T12:00:00');
const form = {
	name: '  Fase regional  ',
	opensAt: '2026-03-01T11:00',
	closesAt: '2026-03-08T12:00',
	cities: 'Cali, Medellín\n  Bogotá ',
	finalists: '3'
};

describe('roundBody', () => {
	it('makes the API’s body: trimmed name, instants, the cities as a list, the finalists as a number', () => {
		expect(roundBody(form, now)).toEqual({
			body: {
				name: 'Fase regional',
				opens_at: new Date('2026-03-01T11:00').toISOString(),
				closes_at: new Date('2026-03-08T12:00').toISOString(),
				cities: ['Cali', 'Medellín', 'Bogotá'],
				finalists_per_city: 3
			}
		});
	});

	it('sends null cities for every city', () => {
		expect(roundBody({ ...form, cities: ' , \n' }, now)).toMatchObject({ body: { cities: null } });
	});

	it('says every field to fix, as the API would refuse them', () => {
		expect(roundBody({ name: ' ', opensAt: '', closesAt: '', cities: '', finalists: '0' }, now)).toEqual({
			errors: {
				name: t.validation.required,
				opens_at: t.validation.required,
				closes_at: t.validation.required,
				finalists_per_city: t.rounds.finalistsRange
			}
		});
		expect(roundBody({ ...form, closesAt: '2026-03-01T10:00' }, now)).toEqual({ errors: { closes_at: t.rounds.closesAfterOpens } });
		expect(roundBody({ ...form, opensAt: '2026-02-01T10:00', closesAt: '2026-03-01T11:30' }, now)).toEqual({
			errors: { closes_at: t.rounds.closesInFuture }
		});
		expect(roundBody({ ...form, cities: 'Cali, cali' }, now)).toEqual({ errors: { cities: t.rounds.repeatedCity('cali') } });
		const many = Array.from({ length: 51 }, (_, i) => `Ciudad ${i}`).join(',');
		expect(roundBody({ ...form, cities: many }, now)).toEqual({ errors: { cities: t.rounds.tooManyCities(50) } });
		expect(roundBody({ ...form, finalists: '2.5' }, now)).toMatchObject({ errors: { finalists_per_city: t.rounds.finalistsRange } });
		expect(roundBody({ ...form, finalists: '101' }, now)).toMatchObject({ errors: { finalists_per_city: t.rounds.finalistsRange } });
	});

	it('reads cities from commas and lines', () => {
		expect(cityList('a,b\nc ,, ')).toEqual(['a', 'b', 'c']);
	});

	it('writes an instant back as a datetime-local value', () => {
		expect(localInput(new Date('2026-03-01T09:05:59'))).toBe('2026-03-01T09:05');
	});
});

describe('timeLeft', () => {
	const at = (iso: string) => new Date(iso).toISOString();
	it('says days and hours, hours and minutes, or minutes', () => {
		expect(timeLeft(at('2026-03-03T15:00:00'), now)).toBe('2 días y 3 h');
		expect(timeLeft(at('2026-03-02T12:00:00'), now)).toBe('1 día');
		expect(timeLeft(at('2026-03-01T15:20:30'), now)).toBe('3 h y 20 min');
		expect(timeLeft(at('2026-03-01T14:00:00'), now)).toBe('2 h');
		expect(timeLeft(at('2026-03-01T12:05:00'), now)).toBe('5 min');
		expect(timeLeft(at('2026-03-01T12:00:30'), now)).toBe(t.rounds.lessThanMinute);
		expect(timeLeft(at('2026-03-01T11:00:00'), now)).toBe(t.rounds.lessThanMinute);
	});
});

describe('roundsToShow', () => {
	const round = (id: string, status: Round['status'], opens: string, cities: string[] | null = null): Round => ({
		round_id: id,
		name: id,
		opens_at: opens,
		closes_at: '2026-12-31T00:00:00Z',
		cities,
		finalists_per_city: 3,
		status,
		frozen_at: null
	});
	// Latest opening first, as the API lists them.
	const rounds = [
		round('next-cali', 'scheduled', '2026-05-01T00:00:00Z', ['Cali']),
		round('next-all', 'scheduled', '2026-04-01T00:00:00Z'),
		round('open-bogota', 'open', '2026-02-01T00:00:00Z', ['Bogotá']),
		round('closed-cali', 'closed', '2026-01-01T00:00:00Z', ['Cali']),
		round('closed-all', 'closed', '2025-12-01T00:00:00Z')
	];

	it('shows the open round of the city, or the next one to open, and the last closed one', () => {
		expect(roundsToShow(rounds, 'bogotá')).toEqual({ open: rounds[2], next: null, closed: rounds[4] });
		expect(roundsToShow(rounds, 'Cali')).toEqual({ open: null, next: rounds[1], closed: rounds[3] });
		expect(roundsToShow(rounds, '')).toEqual({ open: rounds[2], next: null, closed: rounds[3] });
		expect(roundsToShow([], 'Cali')).toEqual({ open: null, next: null, closed: null });
	});

	it('knows which cities a round covers', () => {
		expect(covers({ cities: null }, 'Pasto')).toBe(true);
		expect(covers({ cities: ['Cali'] }, 'CALI')).toBe(true);
		expect(covers({ cities: ['Cali'] }, 'Pasto')).toBe(false);
	});
});
