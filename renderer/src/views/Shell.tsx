import type { ReactNode } from 'react';

/** The frame around both faces: brand, navigation, and the page. */
export function Shell({ nav, children, face }: { nav: ReactNode; children: ReactNode; face: string }) {
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="#/" aria-label="Lattice home">
          <span className="brand-mark" aria-hidden="true" />
          Lattice <span className="brand-face">{face}</span>
        </a>
        <nav aria-label="Main" className="topnav">
          {nav}
        </nav>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}
