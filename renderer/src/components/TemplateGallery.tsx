import { TEMPLATES, TEMPLATE_IDS } from '../../../shared';
import { useApi } from '../api/api-context';

export function TemplateGallery() {
  const { base } = useApi();
  return (
    <section aria-labelledby="gallery-title" data-testid="template-gallery">
      <h2 id="gallery-title" className="section-title">
        Deploy something
      </h2>
      <div className="gallery">
        {TEMPLATE_IDS.map((id) => {
          const t = TEMPLATES[id];
          return (
            <article key={id} className="card template-card" data-testid={`template-${id}`}>
              <div className={`template-icon template-icon-${id}`} aria-hidden="true">
                {id === 'postgres' ? 'PG' : id === 'minio' ? 'S3' : '{ }'}
              </div>
              <h3 className="card-title">{t.title}</h3>
              <p className="muted">{t.summary}</p>
              <ul className="features">
                {t.features.map((f) => (
                  <li key={f}>{f}</li>
                ))}
              </ul>
              <a
                className="btn btn-primary"
                href={`#${base}/deploy/${id}`}
                data-testid={`deploy-${id}`}
                aria-label={`Deploy ${t.title}`}
              >
                Deploy
              </a>
            </article>
          );
        })}
      </div>
    </section>
  );
}
