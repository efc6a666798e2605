// TLS for the FIX test peers from PEM files, as the rest of QENEX's tests make them with
// openssl: --tls (on) with --tls-cert and --tls-key (this side's certificate chain and its
// PKCS#8 key), --tls-ca (the CA the other side's certificate must chain to: the initiator
// checks the acceptor's; the acceptor then requires a client certificate from it) and
// --tls-check-host (the initiator also checks the acceptor's name or IP address). QuickFIX/J
// reads key stores, so these become PKCS#12 files in a temporary folder; SocketUseSSL and
// the rest are its own settings. Without --tls-ca the initiator trusts any certificate
// (QuickFIX/J's default).
package qenex;

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Map;

import quickfix.Dictionary;

final class Tls {
  private static final String PASSWORD = "qenex-test";

  private Tls() { }

  /** Adds QuickFIX/J's TLS settings for these options to d; nothing without --tls. */
  static void configure(Map<String, String> opts, Dictionary d, boolean acceptor) throws Exception {
    if (!opts.containsKey("tls")) return;
    Path dir = Files.createTempDirectory("qenex-fix-tls-");
    dir.toFile().deleteOnExit();
    d.setString("SocketUseSSL", "Y");
    if (opts.containsKey("tls-cert") != opts.containsKey("tls-key")) throw new IllegalArgumentException("--tls-cert and --tls-key go together");
    if (opts.containsKey("tls-cert")) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("self", readKey(Path.of(opts.get("tls-key"))), PASSWORD.toCharArray(), readCerts(Path.of(opts.get("tls-cert"))));
      d.setString("SocketKeyStore", write(ks, dir.resolve("key.p12")));
      d.setString("KeyStoreType", "PKCS12");
      d.setString("SocketKeyStorePassword", PASSWORD);
    } else if (acceptor) {
      throw new IllegalArgumentException("--tls on the acceptor needs --tls-cert and --tls-key");
    }
    if (opts.containsKey("tls-ca")) {
      KeyStore ts = KeyStore.getInstance("PKCS12");
      ts.load(null, null);
      Certificate[] cas = readCerts(Path.of(opts.get("tls-ca")));
      for (int i = 0; i < cas.length; i++) ts.setCertificateEntry("ca" + i, cas[i]);
      d.setString("SocketTrustStore", write(ts, dir.resolve("trust.p12")));
      d.setString("TrustStoreType", "PKCS12");
      d.setString("SocketTrustStorePassword", PASSWORD);
      if (acceptor) d.setString("NeedClientAuth", "Y");
    }
    if (opts.containsKey("tls-check-host")) d.setString("EndpointIdentificationAlgorithm", "HTTPS");
  }

  private static String write(KeyStore ks, Path p) throws Exception {
    try (OutputStream out = Files.newOutputStream(p)) { ks.store(out, PASSWORD.toCharArray()); }
    p.toFile().deleteOnExit();
    return p.toAbsolutePath().toString();
  }

  static Certificate[] readCerts(Path p) throws Exception {
    byte[] pem = Files.readAllBytes(p);
    Certificate[] certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem)).toArray(new Certificate[0]);
    if (certs.length == 0) throw new IllegalArgumentException(p + ": no certificate");
    return certs;
  }

  /** An unencrypted PKCS#8 key ("BEGIN PRIVATE KEY", what openssl 3 writes): EC, RSA or Ed25519. */
  static PrivateKey readKey(Path p) throws Exception {
    String pem = Files.readString(p);
    if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
      throw new IllegalArgumentException(p + ": not an unencrypted PKCS#8 key (openssl pkcs8 -topk8 -nocrypt converts one)");
    }
    String b64 = pem.substring(pem.indexOf("-----BEGIN PRIVATE KEY-----") + 27, pem.indexOf("-----END PRIVATE KEY-----")).replaceAll("\\s", "");
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
    for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
      try { return KeyFactory.getInstance(alg).generatePrivate(spec); } catch (Exception e) { /* the next algorithm */ }
    }
    throw new IllegalArgumentException(p + ": a key of none of EC, RSA, Ed25519");
  }
}
