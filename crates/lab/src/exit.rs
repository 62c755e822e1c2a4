//! The lab's process exit codes (sysexits, as the prober's).

/// Exit code of a usage error: a bad flag or flag value, a function that cannot run as given
/// (sysexits `EX_USAGE`, as the prober's).
pub const EXIT_USAGE: i32 = 64;
/// Exit code when a port cannot be bound (sysexits `EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: i32 = 69;
/// Exit code when the lab itself fails (sysexits `EX_SOFTWARE`).
pub const EXIT_SOFTWARE: i32 = 70;
/// Exit code when an output file (`--ready-file`) cannot be created (sysexits `EX_CANTCREAT`).
pub const EXIT_CANTCREAT: i32 = 73;
