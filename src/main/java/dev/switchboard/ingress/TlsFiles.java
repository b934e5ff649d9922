package dev.switchboard.ingress;

import dev.switchboard.config.ConfigNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks {@code server.tls.cert} and {@code server.tls.key} at start-up, so that a file that
 * cannot be read, is not PEM, or holds a key that does not belong to the certificate stops the
 * gateway with one line naming the key, instead of failing the listener or every handshake.
 * Accepts what Vert.x's PEM options load: certificates, and RSA or EC keys as PKCS#8
 * ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}).
 */
final class TlsFiles {

  private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

  private TlsFiles() {
  }

  private record Block(String label, byte[] der) {
  }

  static void check(ConfigNode certKey, String certPath, ConfigNode keyKey, String keyPath) {
    List<Block> certBlocks = blocks(certKey, certPath);
    List<Block> keyBlocks = blocks(keyKey, keyPath);
    Certificate certificate = certificate(certKey, certPath, certBlocks);
    PrivateKey key = privateKey(keyKey, keyPath, keyBlocks);
    if (!belongTogether(key, certificate)) {
      throw keyKey.error(keyPath + " is not the private key of the certificate in " + certPath);
    }
  }

  /** A file of trusted certificates (a client CA bundle): readable PEM with at least one certificate. */
  static void checkCertificates(ConfigNode node, String path) {
    certificate(node, path, blocks(node, path));
  }

  private static List<Block> blocks(ConfigNode node, String path) {
    String text;
    try {
      text = new String(Files.readAllBytes(Path.of(path)), StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw node.error("cannot read " + path + ": no such file");
    } catch (AccessDeniedException e) {
      throw node.error("cannot read " + path + ": permission denied (the gateway runs as " + System.getProperty("user.name") + ")");
    } catch (IOException e) {
      throw node.error("cannot read " + path + ": " + (Files.isDirectory(Path.of(path)) ? "is a directory" : e.getMessage()));
    } catch (RuntimeException e) {
      throw node.error("cannot read '" + path + "': " + e.getMessage());
    }
    List<Block> blocks = new ArrayList<>();
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      if (m.group(1).startsWith("ENCRYPTED") || m.group(2).contains("ENCRYPTED")) {
        throw node.error(path + " holds an encrypted " + m.group(1).replace("ENCRYPTED ", "").toLowerCase()
            + ", which the gateway cannot use: decrypt it (openssl pkey -in " + path + " -out plain.pem) "
            + "and keep that file readable by the gateway only");
      }
      try {
        blocks.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2).strip())));
      } catch (IllegalArgumentException e) {
        throw node.error(path + " is not valid PEM: the " + m.group(1) + " block is not base64");
      }
    }
    if (blocks.isEmpty()) {
      throw node.error(path + " is not a PEM file (no -----BEGIN ...----- block)");
    }
    return blocks;
  }

  private static Certificate certificate(ConfigNode node, String path, List<Block> blocks) {
    for (Block b : blocks) {
      if (b.label().equals("CERTIFICATE")) {
        try {
          Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
              .generateCertificates(new ByteArrayInputStream(b.der()));
          if (!certs.isEmpty()) {
            return certs.iterator().next();
          }
        } catch (GeneralSecurityException e) {
          throw node.error(path + " holds a CERTIFICATE block that is not an X.509 certificate (" + e.getMessage() + ")");
        }
      }
    }
    throw node.error(path + " holds no certificate (-----BEGIN CERTIFICATE-----)");
  }

  private static PrivateKey privateKey(ConfigNode node, String path, List<Block> blocks) {
    for (Block b : blocks) {
      try {
        switch (b.label()) {
          case "PRIVATE KEY":
            return pkcs8(b.der());
          case "RSA PRIVATE KEY":
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(
                pkcs8(RSA_ALGORITHM, b.der())));
          case "EC PRIVATE KEY":
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(
                pkcs8(ecAlgorithm(b.der()), b.der())));
          default:
            // certificates and parameters may sit next to the key
        }
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw node.error(path + " holds a " + b.label() + " block that is not a usable RSA or EC key");
      }
    }
    throw node.error(path + " holds no private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)");
  }

  private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
    GeneralSecurityException last = null;
    for (String algorithm : new String[] {"RSA", "EC"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        last = e;
      }
    }
    throw last;
  }

  /** Signs with the key and verifies with the certificate: true when they are one pair. */
  private static boolean belongTogether(PrivateKey key, Certificate certificate) {
    String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
    try {
      byte[] probe = new byte[32];
      new SecureRandom().nextBytes(probe);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  // --- just enough DER to wrap PKCS#1 and SEC1 keys as PKCS#8 -------------------------------

  /** AlgorithmIdentifier { rsaEncryption, NULL }. */
  private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7,
      0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
  /** OID id-ecPublicKey (1.2.840.10045.2.1). */
  private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

  /** AlgorithmIdentifier { id-ecPublicKey, namedCurve } with the curve taken from the SEC1 key's [0] parameters. */
  private static byte[] ecAlgorithm(byte[] sec1) {
    int[] outer = header(sec1, 0);
    if (sec1[0] != 0x30) {
      throw new IllegalArgumentException("not a SEQUENCE");
    }
    int at = outer[0];
    int end = at + outer[1];
    while (at < end) {
      int[] h = header(sec1, at);
      if ((sec1[at] & 0xff) == 0xa0) {
        byte[] curve = java.util.Arrays.copyOfRange(sec1, h[0], h[0] + h[1]);
        return tlv(0x30, concat(EC_PUBLIC_KEY, curve));
      }
      at = h[0] + h[1];
    }
    throw new IllegalArgumentException("SEC1 key without named curve parameters");
  }

  /** PrivateKeyInfo { version 0, algorithm, OCTET STRING key }. */
  private static byte[] pkcs8(byte[] algorithm, byte[] key) {
    return tlv(0x30, concat(new byte[] {0x02, 0x01, 0x00}, algorithm, tlv(0x04, key)));
  }

  /** {start of content, length of content} of the TLV at {@code at}. */
  private static int[] header(byte[] der, int at) {
    if (at + 2 > der.length) {
      throw new IllegalArgumentException("truncated DER");
    }
    int first = der[at + 1] & 0xff;
    if (first < 0x80) {
      return checked(der, at + 2, first);
    }
    int bytes = first & 0x7f;
    if (bytes == 0 || bytes > 3 || at + 2 + bytes > der.length) {
      throw new IllegalArgumentException("bad DER length");
    }
    int length = 0;
    for (int i = 0; i < bytes; i++) {
      length = (length << 8) | (der[at + 2 + i] & 0xff);
    }
    return checked(der, at + 2 + bytes, length);
  }

  private static int[] checked(byte[] der, int start, int length) {
    if (start + length > der.length) {
      throw new IllegalArgumentException("truncated DER");
    }
    return new int[] {start, length};
  }

  private static byte[] tlv(int tag, byte[] content) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
    out.write(tag);
    int n = content.length;
    if (n < 0x80) {
      out.write(n);
    } else if (n < 0x100) {
      out.write(0x81);
      out.write(n);
    } else if (n < 0x10000) {
      out.write(0x82);
      out.write(n >> 8);
      out.write(n);
    } else {
      out.write(0x83);
      out.write(n >> 16);
      out.write(n >> 8);
      out.write(n);
    }
    out.writeBytes(content);
    return out.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
