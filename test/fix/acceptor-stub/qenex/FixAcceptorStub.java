// Test-only: a FIX 4.4 acceptor on QuickFIX/J that stands in for QENEX's own acceptor
// while that does not exist, so that the initiator harness (test/fix/initiator) is proven
// against an established engine on both ends (test/integration/fix-counterparty.test.ts).
//
//   java -cp <jars>:<classes> qenex.FixAcceptorStub --port P --sender S --target T
//        [--host 127.0.0.1] [--reset-on-logon] [--heartbeat N] [--store DIR]
//        [--tls --tls-cert C.pem --tls-key K.pem [--tls-ca CA.pem]]   (a client certificate from CA required)
//
// It answers each NewOrderSingle (D) with two ExecutionReports (8): ExecType NEW (0, OrdStatus
// New) then the fill, which FIX 4.4 spells ExecType TRADE (F) with OrdStatus FILLED (2) (the
// ExecType FILL of earlier versions is not in FIX44.xml). Commands and events are FixPeer's
// (send, wait, logout, disconnect, reconnect, seq, status, exit); "send" while the initiator is away
// stores the message under its sequence number, so the initiator's ResendRequest finds it.
package qenex;

import java.util.concurrent.atomic.AtomicLong;

import quickfix.DefaultMessageFactory;
import quickfix.Dictionary;
import quickfix.Message;
import quickfix.Session;
import quickfix.SocketAcceptor;
import quickfix.field.AvgPx;
import quickfix.field.ClOrdID;
import quickfix.field.CumQty;
import quickfix.field.ExecID;
import quickfix.field.ExecType;
import quickfix.field.LastPx;
import quickfix.field.LastQty;
import quickfix.field.LeavesQty;
import quickfix.field.MsgType;
import quickfix.field.OrdStatus;
import quickfix.field.OrderID;
import quickfix.field.OrderQty;
import quickfix.field.Price;
import quickfix.field.Side;
import quickfix.field.Symbol;

public final class FixAcceptorStub extends FixPeer {
  private final SocketAcceptor acceptor;
  private final AtomicLong ids = new AtomicLong();

  private FixAcceptorStub(String[] args) throws Exception {
    super(args, "acceptor");
    Dictionary d = settings.get(sessionID);
    d.setString("SocketAcceptAddress", opts.getOrDefault("host", "127.0.0.1"));
    d.setString("SocketAcceptPort", need("port"));
    settings.set(sessionID, d);
    acceptor = new SocketAcceptor(this, storeFactory(), settings, this, new DefaultMessageFactory());
  }

  public static void main(String[] args) throws Exception {
    FixAcceptorStub peer;
    try {
      peer = new FixAcceptorStub(args);
      peer.acceptor.start();
    } catch (Exception e) {
      System.err.println("FixAcceptorStub: " + e);
      System.exit(2);
      return;
    }
    emit("ready", "role", "acceptor", "session", peer.sessionID.toString(), "port", Integer.parseInt(peer.opts.get("port")));
    peer.commandLoop();
  }

  @Override protected void onApp(Message order) {
    if (!isType(order, MsgType.ORDER_SINGLE)) return;
    try {
      String orderId = "O" + ids.incrementAndGet();
      double qty = order.getDouble(OrderQty.FIELD);
      double px = order.isSetField(Price.FIELD) ? order.getDouble(Price.FIELD) : 100.0;
      Session s = session();
      s.send(report(order, orderId, ExecType.NEW, OrdStatus.NEW, 0, qty, 0, 0));
      s.send(report(order, orderId, ExecType.TRADE, OrdStatus.FILLED, qty, 0, qty, px));
    } catch (Exception e) {
      emit("session_error", "text", "stub: cannot answer order: " + e);
    }
  }

  private Message report(Message order, String orderId, char execType, char status, double cum, double leaves, double last, double px)
      throws Exception {
    Message r = new Message();
    r.getHeader().setString(MsgType.FIELD, MsgType.EXECUTION_REPORT);
    r.setField(new OrderID(orderId));
    r.setField(new ExecID("E" + ids.incrementAndGet()));
    r.setField(new ClOrdID(order.getString(ClOrdID.FIELD)));
    r.setField(new ExecType(execType));
    r.setField(new OrdStatus(status));
    r.setField(new Symbol(order.getString(Symbol.FIELD)));
    r.setField(new Side(order.getChar(Side.FIELD)));
    r.setField(new OrderQty(order.getDouble(OrderQty.FIELD)));
    r.setField(new LeavesQty(leaves));
    r.setField(new CumQty(cum));
    r.setField(new AvgPx(cum > 0 ? px : 0));
    if (last > 0) {
      r.setField(new LastQty(last));
      r.setField(new LastPx(px));
    }
    return r;
  }

  @Override protected void shutdown() {
    acceptor.stop(true);
  }
}
