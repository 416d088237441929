//! The build identity: a hash of the analyzer's source, its rule data and its
//! locked dependencies, as `ARCHLINT_BUILD_ID`. The re-run cache
//! (`src/cache.rs`) keys every entry by it, so a rebuild with any change to
//! the code or to `rules/` never reads findings an older build wrote, even
//! when the crate version stays the same.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// FNV-1a, 64 bits, twice with different offsets: no build dependency needed.
struct Fnv(u64, u64);

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
            self.1 = (self.1 ^ b as u64).wrapping_mul(0x100000001b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 = (self.0 ^ 0xff).wrapping_mul(0x100000001b3);
        self.1 = (self.1 ^ 0xfe).wrapping_mul(0x100000001b3);
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut all = Vec::new();
    for d in ["src", "rules"] {
        println!("cargo:rerun-if-changed={d}");
        files(&root.join(d), &mut all);
    }
    for f in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={f}");
        all.push(root.join(f));
    }
    all.sort();
    let mut h = Fnv(0xcbf29ce484222325, 0x6c62272e07bb0142);
    h.write(
        std::env::var("CARGO_PKG_VERSION")
            .unwrap_or_default()
            .as_bytes(),
    );
    for p in &all {
        let rel = p.strip_prefix(&root).unwrap_or(p);
        h.write(rel.to_string_lossy().as_bytes());
        h.write(&std::fs::read(p).unwrap_or_default());
    }
    println!("cargo:rustc-env=ARCHLINT_BUILD_ID={:016x}{:016x}", h.0, h.1);
}
