// What both test-only FIX peers share (the initiator, FixInitiator, and the stub
// acceptor, FixAcceptorStub): the command line, the QuickFIX/J session settings, JSON
// lines in (commands on stdin) and out (one event per line on stdout), the application
// callbacks and log that turn every session event into such a line, and the commands
// both understand (send, wait, logout, disconnect, status, exit).
//
// The session layer (sequence numbers, the message store, ResendRequest and gap fill,
// heartbeats, validation against FIX44.xml) is QuickFIX/J's own; nothing here re-does it.
package qenex;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import quickfix.Application;
import quickfix.DataDictionary;
import quickfix.Dictionary;
import quickfix.FieldMap;
import quickfix.FileStoreFactory;
import quickfix.Group;
import quickfix.Log;
import quickfix.LogFactory;
import quickfix.MemoryStoreFactory;
import quickfix.Message;
import quickfix.MessageStoreFactory;
import quickfix.Session;
import quickfix.SessionID;
import quickfix.SessionSettings;
import quickfix.SessionStateListener;
import quickfix.field.MsgType;
import quickfix.field.Password;
import quickfix.field.Username;

public abstract class FixPeer implements Application, LogFactory {
  static final char SOH = '\u0001';
  private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

  protected final Map<String, String> opts;
  protected final SessionID sessionID;
  protected final SessionSettings settings;
  protected final DataDictionary dictionary;
  /** Every application or admin message received, in order, for the wait command. */
  private final List<Message> received = new ArrayList<>();
  private final Map<String, Integer> waitCursor = new HashMap<>();

  protected FixPeer(String[] args, String connectionType) throws Exception {
    opts = parseArgs(args);
    String sender = need("sender");
    String target = need("target");
    sessionID = new SessionID("FIX.4.4", sender, target);
    dictionary = new DataDictionary(opts.getOrDefault("dictionary", "FIX44.xml"));
    settings = new SessionSettings();
    Dictionary d = new Dictionary();
    d.setString("ConnectionType", connectionType);
    d.setString("NonStopSession", "Y");
    d.setString("HeartBtInt", opts.getOrDefault("heartbeat", "30"));
    d.setString("UseDataDictionary", "Y");
    d.setString("DataDictionary", opts.getOrDefault("dictionary", "FIX44.xml"));
    d.setString("ResetOnLogon", opts.containsKey("reset-on-logon") ? "Y" : "N");
    d.setString("ReconnectInterval", "1");
    d.setString("SocketReuseAddress", "Y");
    if (opts.containsKey("store")) d.setString("FileStorePath", opts.get("store"));
    Tls.configure(opts, d, connectionType.equals("acceptor"));
    settings.set(sessionID, d);
  }

  static Map<String, String> parseArgs(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + args[i]);
      String k = args[i].substring(2);
      boolean flag = i + 1 >= args.length || args[i + 1].startsWith("--");
      m.put(k, flag ? "true" : args[++i]);
    }
    return m;
  }

  protected String need(String k) {
    String v = opts.get(k);
    if (v == null) throw new IllegalArgumentException("--" + k + " is required");
    return v;
  }

  /** A FileStore under --store survives a restart of this process; without it, a MemoryStore lasts as long as it. */
  protected MessageStoreFactory storeFactory() {
    return opts.containsKey("store") ? new FileStoreFactory(settings) : new MemoryStoreFactory();
  }

  protected Session session() {
    return Session.lookupSession(sessionID);
  }

  // ---- events out -------------------------------------------------------------------

  static void emit(String event, Object... kv) {
    StringBuilder b = new StringBuilder("{\"event\":").append(Json.quote(event));
    for (int i = 0; i + 1 < kv.length; i += 2) b.append(',').append(Json.quote((String) kv[i])).append(':').append(Json.write(kv[i + 1]));
    b.append('}');
    synchronized (OUT) { OUT.println(b); }
  }

  /** The fields of a message as it is on the wire, in order: [[tag, "value"], ...]. */
  static List<Object> wireFields(String raw) {
    List<Object> out = new ArrayList<>();
    for (String part : raw.split(String.valueOf(SOH))) {
      int eq = part.indexOf('=');
      if (eq <= 0) continue;
      List<Object> pair = new ArrayList<>();
      try { pair.add(Integer.parseInt(part.substring(0, eq))); } catch (NumberFormatException e) { pair.add(part.substring(0, eq)); }
      pair.add(part.substring(eq + 1));
      out.add(pair);
    }
    return out;
  }

  static String tag(String raw, int tag) {
    String key = tag + "=";
    int at = raw.startsWith(key) ? 0 : raw.indexOf(SOH + key);
    if (at < 0) return null;
    int from = at == 0 ? key.length() : at + 1 + key.length();
    int end = raw.indexOf(SOH, from);
    return raw.substring(from, end < 0 ? raw.length() : end);
  }

  static void emitMessage(String event, String raw) {
    String type = tag(raw, 35);
    String seq = tag(raw, 34);
    emit(event, "msgType", type, "seqNum", seq == null ? null : Long.parseLong(seq), "possDup", "Y".equals(tag(raw, 43)),
      "fields", wireFields(raw));
    if (("3".equals(type) || "j".equals(type)) && !event.equals("incoming")) {
      emit("reject", "direction", event.equals("received") ? "in" : "out", "msgType", type, "seqNum", seq == null ? null : Long.parseLong(seq),
        "refSeqNum", tag(raw, 45), "reason", tag(raw, "3".equals(type) ? 373 : 380), "text", tag(raw, 58));
    }
  }

  // ---- QuickFIX/J callbacks -----------------------------------------------------------

  @Override public void onCreate(SessionID id) {
    Session s = Session.lookupSession(id);
    emit("created", "session", id.toString(), "nextSenderSeqNum", seq(s, true), "nextTargetSeqNum", seq(s, false));
    s.addStateListener(new SessionStateListener() {
      @Override public void onConnect() { emit("connected"); }
      @Override public void onDisconnect() { emit("disconnected"); }
      @Override public void onConnectException(Exception e) { emit("connect_error", "message", String.valueOf(e)); }
      @Override public void onReset() { emit("reset"); }
      @Override public void onMissedHeartBeat() { emit("missed_heartbeat"); }
      @Override public void onHeartBeatTimeout() { emit("heartbeat_timeout"); }
      @Override public void onResendRequestSent(int begin, int end, int currentEnd) {
        emit("resend_request_sent", "begin", begin, "end", end, "currentEnd", currentEnd);
      }
      @Override public void onSequenceResetReceived(int newSeqNo, boolean gapFill) {
        emit("sequence_reset_received", "newSeqNo", newSeqNo, "gapFill", gapFill);
      }
      @Override public void onResendRequestSatisfied(int begin, int end) { emit("resend_request_satisfied", "begin", begin, "end", end); }
    });
  }

  static Integer seq(Session s, boolean sender) {
    try { return sender ? s.getExpectedSenderNum() : s.getExpectedTargetNum(); } catch (Exception e) { return null; }
  }

  @Override public void onLogon(SessionID id) {
    Session s = Session.lookupSession(id);
    emit("logon", "nextSenderSeqNum", seq(s, true), "nextTargetSeqNum", seq(s, false));
  }

  @Override public void onLogout(SessionID id) {
    Session s = Session.lookupSession(id);
    emit("logout", "nextSenderSeqNum", seq(s, true), "nextTargetSeqNum", seq(s, false));
  }

  @Override public void toAdmin(Message message, SessionID id) {
    if (isType(message, MsgType.LOGON) && opts.containsKey("username")) {
      message.setField(new Username(opts.get("username")));
      if (opts.containsKey("password")) message.setField(new Password(opts.get("password")));
    }
  }

  @Override public void fromAdmin(Message message, SessionID id) { remember(message); }

  @Override public void toApp(Message message, SessionID id) { }

  @Override public void fromApp(Message message, SessionID id) { remember(message); onApp(message); }

  /** The stub answers orders here; the initiator only reports. */
  protected void onApp(Message message) { }

  private void remember(Message message) {
    emitMessage("received", message.toString());
    synchronized (received) { received.add(message); received.notifyAll(); }
  }

  static boolean isType(Message m, String type) {
    try { return type.equals(m.getHeader().getString(MsgType.FIELD)); } catch (Exception e) { return false; }
  }

  // The log sees messages as they are on the wire: "sent" for each one written (resent ones
  // with PossDupFlag, SequenceReset gap fills), which toApp does not show, and "incoming" for
  // each one read, before the session checks it (a duplicate it drops is seen here, not in "received").
  @Override public Log create(SessionID id) {
    return new Log() {
      @Override public void clear() { }
      @Override public void onIncoming(String m) { emitMessage("incoming", m); }
      @Override public void onOutgoing(String m) { emitMessage("sent", m); }
      @Override public void onEvent(String text) { emit("session_event", "text", text); }
      @Override public void onErrorEvent(String text) { emit("session_error", "text", text); }
    };
  }

  // ---- commands in --------------------------------------------------------------------

  /** Reads one JSON command a line until exit or end of input; each gets an "ok" or "error" event with its id. */
  protected void commandLoop() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      Object id = null;
      try {
        @SuppressWarnings("unchecked") Map<String, Object> cmd = (Map<String, Object>) Json.parse(line);
        id = cmd.get("id");
        String name = String.valueOf(cmd.get("cmd"));
        if (name.equals("exit")) { emit("ok", "id", id, "cmd", name); break; }
        Map<String, Object> result = handle(name, cmd);
        if (result == null) throw new IllegalArgumentException("unknown command " + name);
        List<Object> kv = new ArrayList<>(List.of("id", id, "cmd", name));
        result.forEach((k, v) -> { kv.add(k); kv.add(v); });
        emit("ok", kv.toArray());
      } catch (Exception e) {
        emit("error", "id", id, "message", e.toString());
      }
    }
    shutdown();
    emit("exited");
    System.exit(0);
  }

  protected abstract void shutdown();

  protected void afterDisconnect(Session s) { }

  /** The commands handle() below knows. */
  static final java.util.Set<String> COMMANDS = java.util.Set.of("send", "wait", "logout", "disconnect", "reconnect", "seq", "status");

  /** The commands both peers know; a subclass adds its own first and falls back to these. */
  protected Map<String, Object> handle(String name, Map<String, Object> cmd) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    Session s = session();
    switch (name) {
      case "send": {
        Message m = build(cmd);
        boolean sent = s.send(m);
        r.put("sent", sent);
        r.put("seqNum", m.getHeader().getInt(34));
        return r;
      }
      case "wait": return waitFor(String.valueOf(cmd.get("msgType")), ((Number) cmd.getOrDefault("timeoutMs", 5000)).longValue());
      case "logout": s.logout(cmd.containsKey("text") ? String.valueOf(cmd.get("text")) : null); return r;
      case "disconnect":
        // The TCP connection is dropped without a Logout (the initiator also holds off reconnecting).
        s.disconnect("test: connection dropped without Logout", false);
        afterDisconnect(s);
        return r;
      case "reconnect": s.logon(); return r;
      case "seq":
        // Sets the next sequence numbers by hand: for a test of the other side's answer to a
        // MsgSeqNum too low (Logout) or too high (ResendRequest).
        if (cmd.get("nextSender") != null) s.setNextSenderMsgSeqNum(((Number) cmd.get("nextSender")).intValue());
        if (cmd.get("nextTarget") != null) s.setNextTargetMsgSeqNum(((Number) cmd.get("nextTarget")).intValue());
        r.put("nextSenderSeqNum", seq(s, true));
        r.put("nextTargetSeqNum", seq(s, false));
        return r;
      case "status":
        r.put("loggedOn", s.isLoggedOn());
        r.put("enabled", s.isEnabled());
        r.put("nextSenderSeqNum", seq(s, true));
        r.put("nextTargetSeqNum", seq(s, false));
        return r;
      default: return null;
    }
  }

  /**
   * A message from {msgType, fields:[[tag, value], ...]}; header tags go to the header. A repeating
   * group is [countTag, [[[tag, value], ...], ...]]: one list of fields per instance, whose first tag
   * delimits it and whose order is the group's order on the wire (groups may nest).
   */
  Message build(Map<String, Object> cmd) {
    Message m = new Message();
    m.getHeader().setString(MsgType.FIELD, String.valueOf(cmd.get("msgType")));
    setFields(m, m, (List<?>) cmd.getOrDefault("fields", List.of()));
    return m;
  }

  private void setFields(Message m, FieldMap target, List<?> fields) {
    for (Object f : fields) {
      List<?> pair = (List<?>) f;
      int tag = ((Number) pair.get(0)).intValue();
      Object v = pair.get(1);
      if (v instanceof List) {
        for (Object instance : (List<?>) v) {
          List<?> inner = (List<?>) instance;
          int[] order = inner.stream().mapToInt((p) -> ((Number) ((List<?>) p).get(0)).intValue()).toArray();
          if (order.length == 0) throw new IllegalArgumentException("group " + tag + ": an instance without fields");
          Group g = new Group(tag, order[0], order);
          setFields(m, g, inner);
          target.addGroup(g);
        }
      } else if (target == m && dictionary.isHeaderField(tag)) {
        m.getHeader().setString(tag, String.valueOf(v));
      } else if (target == m && dictionary.isTrailerField(tag)) {
        m.getTrailer().setString(tag, String.valueOf(v));
      } else {
        target.setString(tag, String.valueOf(v));
      }
    }
  }

  /** The next message of this type received since the last wait for that type (or from the start). */
  private Map<String, Object> waitFor(String msgType, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    synchronized (received) {
      while (true) {
        int from = waitCursor.getOrDefault(msgType, 0);
        for (int i = from; i < received.size(); i++) {
          if (isType(received.get(i), msgType)) {
            waitCursor.put(msgType, i + 1);
            String raw = received.get(i).toString();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("msgType", msgType);
            r.put("seqNum", Long.parseLong(tag(raw, 34)));
            r.put("fields", wireFields(raw));
            return r;
          }
        }
        waitCursor.put(msgType, received.size());
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) throw new IllegalStateException("timeout: no message of type " + msgType + " within " + timeoutMs + " ms");
        received.wait(left);
      }
    }
  }
}
