import QRCode from 'qrcode';
import { useMemo } from 'react';

/** A QR code drawn as SVG rectangles from the qrcode module matrix: no canvas, no data: URLs. */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, path } = useMemo(() => {
    const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
    const n = qr.modules.size;
    let d = '';
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) if (qr.modules.get(r, c)) d += `M${c + 4} ${r + 4}h1v1h-1z`;
    }
    return { size: n + 8, path: d };
  }, [text]);
  return (
    <svg
      className="qr"
      viewBox={`0 0 ${size} ${size}`}
      width="160"
      height="160"
      role="img"
      aria-label={label}
      data-testid="share-qr"
      shapeRendering="crispEdges"
    >
      <rect width={size} height={size} className="qr-bg" />
      <path d={path} className="qr-fg" />
    </svg>
  );
}
