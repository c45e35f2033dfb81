import './zod-csp';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { detectFace } from './api/face';
import { App } from './views/App';
import './styles/tokens.css';
import './styles/base.css';
import './styles/components.css';

void detectFace().then((face) => {
  document.documentElement.dataset.face = face.kind;
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App face={face} />
    </StrictMode>,
  );
});
