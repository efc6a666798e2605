// types/portable.d.ts: AssemblyScript's scalar type names, for TypeScript.
//
// A contract file compiled by both compilers (services/ledger/protocol.ts)
// may hold small pure functions typed the AssemblyScript way; TypeScript
// reads these names as what JavaScript has. Only files meant for both
// compilers use them, and only for values a JavaScript number holds exactly.
type i8 = number;
type i16 = number;
type i32 = number;
type u8 = number;
type u16 = number;
type u32 = number;
type usize = number;
type bool = boolean;
