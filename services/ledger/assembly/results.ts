// Result codes of create_accounts and create_transfers: their one home is
// services/ledger/protocol.ts (the host reads them by name too).

export { AccountResult, TransferResult, transferResultIsTransient } from "../protocol";
