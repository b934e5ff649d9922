package dev.switchboard.doctor;

import dev.switchboard.ingress.TlsSettings;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * {@code server.tls}: start-up (and so the configuration check) already proved the files readable
 * PEM and the key the certificate's own; what it does not look at is time. A certificate that has
 * expired loads fine and fails every handshake.
 */
final class TlsCheck {

  /** Renewals (certbot, ACME) run at 30 days left; under 14 one has failed and nobody noticed. */
  static final Duration WARN_BELOW = Duration.ofDays(14);

  private TlsCheck() {
  }

  static Finding check(TlsSettings tls, String file, Instant now) {
    String subject = "tls";
    X509Certificate cert;
    try (InputStream in = Files.newInputStream(Path.of(tls.cert()))) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (Exception e) {
      return Finding.fail(subject, "cannot read the certificate " + tls.cert() + ": " + Doctor.message(e),
          "point server.tls.cert in " + file + " at a readable PEM certificate");
    }
    String what = tls.cert() + " (" + cert.getSubjectX500Principal().getName() + ")";
    Instant notAfter = cert.getNotAfter().toInstant();
    String until = notAfter.atOffset(ZoneOffset.UTC).toLocalDate().toString();
    String renew = "renew the certificate and put it at " + tls.cert() + " (server.tls.cert in " + file + ")"
        + (tls.reloadCheck().isZero() ? ", then reload (SIGHUP: systemctl reload switchboard, or POST /api/v1/admin/reload)"
            : "; the gateway picks it up within server.tls.reload_check");
    if (now.isBefore(cert.getNotBefore().toInstant())) {
      return Finding.fail(subject, what + " is not valid before " + cert.getNotBefore().toInstant(), "check this host's clock, or " + renew);
    }
    if (!now.isBefore(notAfter)) {
      return Finding.fail(subject, what + " expired on " + until, renew);
    }
    long days = Duration.between(now, notAfter).toDays();
    String text = what + " and " + tls.key() + " readable and a pair, valid until " + until + " (" + days + " days left)";
    if (Duration.between(now, notAfter).compareTo(WARN_BELOW) < 0) {
      return Finding.warn(subject, text, renew);
    }
    return Finding.ok(subject, text);
  }
}
