// A FIX 4.4 initiator on QuickFIX/J, driven by JSON lines, for testing an acceptor
// against an established engine (test/support/fix-initiator.ts drives it; docs/fix.md,
// "The counterparty in tests").
//
//   java -cp <jars>:<classes> qenex.FixInitiator --host H --port P --sender S --target T
//        [--reset-on-logon] [--heartbeat N] [--store DIR] [--username U --password P] [--dictionary FIX44.xml]
//        [--tls [--tls-ca CA.pem [--tls-check-host]] [--tls-cert C.pem --tls-key K.pem]]   (Tls.java)
//
// Commands on stdin, one JSON object a line, each answered by {"event":"ok"|"error","id":...}:
//   {"cmd":"logon"}                 connect and log on (the first time starts the initiator)
//   {"cmd":"logout","text":"..."}   send Logout and disconnect when it is answered
//   {"cmd":"send","msgType":"D","fields":[[11,"c1"],[55,"X"],...]}   header, sequence number and trailer are filled in;
//       a repeating group is [countTag, [[[tag, value], ...], ...]], one list of fields per instance
//   {"cmd":"disconnect"}            drop TCP without a Logout; no reconnecting until "reconnect"
//   {"cmd":"reconnect"}             connect and log on again, same sequence numbers (resend follows a gap)
//   {"cmd":"wait","msgType":"8","timeoutMs":5000}   the next received message of that type
//   {"cmd":"seq","nextSender":N,"nextTarget":M}   set the next sequence numbers (either may be left out)
//   {"cmd":"status"}, {"cmd":"exit"}
// Events on stdout, one JSON object a line: ready, created, connected, logon, logout,
// disconnected, sent, incoming (read from the socket) and received (passed the session's checks;
// each with msgType, seqNum, possDup and the fields in wire order), reject,
// resend_request_sent, sequence_reset_received, session_event, session_error, exited.
package qenex;

import java.util.LinkedHashMap;
import java.util.Map;

import quickfix.DefaultMessageFactory;
import quickfix.Dictionary;
import quickfix.Session;
import quickfix.SocketInitiator;

public final class FixInitiator extends FixPeer {
  private SocketInitiator initiator;

  private FixInitiator(String[] args) throws Exception {
    super(args, "initiator");
    Dictionary d = settings.get(sessionID);
    d.setString("SocketConnectHost", opts.getOrDefault("host", "127.0.0.1"));
    d.setString("SocketConnectPort", need("port"));
    settings.set(sessionID, d);
  }

  public static void main(String[] args) throws Exception {
    FixInitiator peer;
    try {
      peer = new FixInitiator(args);
    } catch (Exception e) {
      System.err.println("FixInitiator: " + e.getMessage());
      System.exit(2);
      return;
    }
    emit("ready", "role", "initiator", "session", peer.sessionID.toString());
    peer.commandLoop();
  }

  @Override protected Map<String, Object> handle(String name, Map<String, Object> cmd) throws Exception {
    if (name.equals("logon")) {
      if (initiator == null) {
        initiator = new SocketInitiator(this, storeFactory(), settings, this, new DefaultMessageFactory());
        initiator.start();
      } else {
        session().logon();
      }
      return new LinkedHashMap<>();
    }
    if (!COMMANDS.contains(name)) return null;
    if (initiator == null) throw new IllegalStateException(name + ": not started; send logon first");
    return super.handle(name, cmd);
  }

  /** Disabled, QuickFIX/J's reconnect task leaves the session alone until "reconnect" (Session.logon). */
  @Override protected void afterDisconnect(Session s) {
    s.logout();
  }

  @Override protected void shutdown() {
    if (initiator != null) initiator.stop(true);
  }
}
