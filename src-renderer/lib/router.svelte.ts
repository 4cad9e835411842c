import { routes, type Route } from './routes';

function routeFromHash(hash: string): Route {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return routes.find((r) => r.id === id) ?? routes[0];
}

/** Hash routing (#/train): works from file:// in Electron and from the browser host alike. */
class Router {
  current = $state<Route>(routeFromHash(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.current = routeFromHash(location.hash);
    });
  }

  go(id: string): void {
    location.hash = `#/${id}`;
  }
}

export const router = new Router();
