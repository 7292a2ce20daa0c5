// The city filter and page number in the showcase's and the rankings' URLs.
import { describe, expect, it } from 'vitest';
import { listHref, listQuery } from './paging';

const at = (search: string) => new URL(`http://127.0.0.1:8080/rankings${search}`);

describe('listQuery', () => {
	it('reads the city, trimmed, and the page', () => {
		expect(listQuery(at('?ciudad=%20Cali%20&pagina=3'))).toEqual({ city: 'Cali', page: 3 });
	});

	it('falls back to no city and page 1', () => {
		expect(listQuery(at(''))).toEqual({ city: '', page: 1 });
		expect(listQuery(at('?ciudad=%20%20'))).toEqual({ city: '', page: 1 });
		for (const bad of ['0', '-2', 'dos', '']) {
			expect(listQuery(at(`?pagina=${bad}`)).page, bad).toBe(1);
		}
	});
});

describe('listHref', () => {
	it('leaves out the defaults', () => {
		expect(listHref('/', 1, '')).toBe('/');
		expect(listHref('/rankings', 1, '')).toBe('/rankings');
	});

	it('encodes the city and the page', () => {
		expect(listHref('/rankings', 2, 'San José')).toBe('/rankings?ciudad=San+Jos%C3%A9&pagina=2');
		expect(listHref('/', 1, 'Bogotá')).toBe('/?ciudad=Bogot%C3%A1');
	});

	it('is read back as written', () => {
		const href = listHref('/rankings', 4, 'Medellín & Envigado');
		expect(listQuery(new URL(href, 'http://x'))).toEqual({ city: 'Medellín & Envigado', page: 4 });
	});
});
