import { readHttpSettings } from './http-settings';

describe('http settings', () => {
  it('http settings - unset HTTP_PORT means no server; 0 a free port; host defaults to loopback', () => {
    expect(readHttpSettings({})).toBeUndefined();
    expect(readHttpSettings({ HTTP_PORT: '' })).toBeUndefined();
    expect(readHttpSettings({ HTTP_PORT: '0' })).toEqual({ host: '127.0.0.1', port: 0 });
    expect(readHttpSettings({ HTTP_PORT: '8080', HTTP_HOST: '0.0.0.0' })).toEqual({ host: '0.0.0.0', port: 8080 });
  });

  it('http settings - a malformed port names the variable', () => {
    expect(() => readHttpSettings({ HTTP_PORT: 'eighty' })).toThrow(/HTTP_PORT must be a port number/);
    expect(() => readHttpSettings({ HTTP_PORT: '70000' })).toThrow(/HTTP_PORT/);
  });
});
