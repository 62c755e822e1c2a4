//! Just enough of ELF64 (little-endian) to say whether a Lambda binary is static and for which
//! machine: the header's `e_type`/`e_machine`, the `PT_INTERP` segment and the `DT_NEEDED` entries
//! of `PT_DYNAMIC`. A static-pie binary (what Rust builds for musl) is `ET_DYN` with a dynamic
//! segment but no interpreter and no needed library: "static" is those two, not `ET_EXEC`.

/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 0x3e;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 0xb7;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

/// What the tests check of an ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// `e_type` (2 `ET_EXEC`, 3 `ET_DYN`).
    pub kind: u16,
    /// `e_machine`.
    pub machine: u16,
    /// A `PT_INTERP` segment (a dynamic loader) is present.
    pub interpreter: bool,
    /// How many `DT_NEEDED` entries (shared libraries) the dynamic segment lists.
    pub needed: usize,
}

impl ElfInfo {
    /// No dynamic loader and no shared library: runs on any Linux of its machine.
    pub fn is_static(&self) -> bool {
        !self.interpreter && self.needed == 0
    }
}

/// Why bytes are not an ELF file this module reads.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    /// No `\x7fELF` magic.
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// 32-bit or big-endian.
    #[error("not a 64-bit little-endian ELF file (the only kind Lambda runs)")]
    Unsupported,
    /// A header or table points outside the file.
    #[error("truncated ELF file: {0} lies outside it")]
    Truncated(&'static str),
}

fn field<const N: usize>(bytes: &[u8], at: usize, what: &'static str) -> Result<[u8; N], ElfError> {
    bytes
        .get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(ElfError::Truncated(what))
}

fn u16_at(bytes: &[u8], at: usize, what: &'static str) -> Result<u16, ElfError> {
    field(bytes, at, what).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, ElfError> {
    field(bytes, at, what).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize, what: &'static str) -> Result<u64, ElfError> {
    field(bytes, at, what).map(u64::from_le_bytes)
}

fn offset(value: u64, what: &'static str) -> Result<usize, ElfError> {
    usize::try_from(value).map_err(|_| ElfError::Truncated(what))
}

/// Reads the header and the program headers of an ELF64 little-endian file.
pub fn inspect(bytes: &[u8]) -> Result<ElfInfo, ElfError> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err(ElfError::NotElf);
    }
    // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err(ElfError::Unsupported);
    }
    let kind = u16_at(bytes, 16, "e_type")?;
    let machine = u16_at(bytes, 18, "e_machine")?;
    let phoff = offset(u64_at(bytes, 0x20, "e_phoff")?, "e_phoff")?;
    let phentsize = usize::from(u16_at(bytes, 0x36, "e_phentsize")?);
    let phnum = usize::from(u16_at(bytes, 0x38, "e_phnum")?);
    let mut info = ElfInfo {
        kind,
        machine,
        interpreter: false,
        needed: 0,
    };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        match u32_at(bytes, ph, "a program header")? {
            PT_INTERP => info.interpreter = true,
            PT_DYNAMIC => {
                let start = offset(u64_at(bytes, ph + 8, "p_offset")?, "p_offset")?;
                let size = offset(u64_at(bytes, ph + 32, "p_filesz")?, "p_filesz")?;
                for entry in (start..start + size).step_by(16) {
                    match u64_at(bytes, entry, "a dynamic entry")? {
                        DT_NULL => break,
                        DT_NEEDED => info.needed += 1,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dynamically linked program of this machine (the test runs on x86-64 Linux).
    #[test]
    fn a_dynamic_program_has_an_interpreter_and_needed_libraries() {
        let sh = std::fs::read("/bin/sh").expect("/bin/sh");
        let info = inspect(&sh).unwrap();
        assert!(info.interpreter, "{info:?}");
        assert!(info.needed >= 1, "{info:?}");
        assert!(!info.is_static());
        assert_eq!(info.machine, EM_X86_64);
    }

    #[test]
    fn other_bytes_are_refused_with_the_reason() {
        assert_eq!(inspect(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        assert_eq!(inspect(b"\x7fELF\x01\x01"), Err(ElfError::Unsupported));
        let mut header = b"\x7fELF\x02\x01".to_vec();
        header.resize(20, 0);
        assert_eq!(inspect(&header), Err(ElfError::Truncated("e_phoff")));
    }
}
