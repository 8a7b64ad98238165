using Replay.Engines.Contract;
using Replay.Engines.Paging;
using static Replay.Engines.Parts.Shadow.ShadowKinds;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// The shadow part for guest writes to write-protected tables: emulation (Xen <c>sh_page_fault</c>'s emulate path,
/// hvm.c; KVM <c>kvm_mmu_track_write</c>), Xen's fast emulation and early unshadow, KVM's flooding. Write protection
/// itself is <see cref="ShadowMmu.WriteProtect"/> over the store's reverse map.
/// </summary>
internal sealed class PtEmulation(ShadowMmu m) : ShadowPart(m)
{
    public void WritePageTable(in PageTableWrite write)
    {
        ulong gfn = write.Pa >> Pte.PageShift;
        var fs = _store.Frame(gfn);
        if (write.IsInit)
        {
            // Initial contents: no exit, no cost; shadows (if any already exist) are kept coherent silently.
            var (old, now) = Machine.Memory.Store(write.Pa, write.Value, write.Width);
            if (fs is not null && old != now)
            {
                foreach (var s in ShadowsOf(fs))
                {
                    ValidateEntry(s, (int)((write.Pa >> Pte.EntryShift) & Pte.IndexMask), now, out _);
                }

                FlushEverywhere();
            }

            return;
        }

        if (fs is null || !fs.Protected)
        {
            // Not a shadowed table, or out of sync (writable): the store runs natively.
            Machine.Memory.Store(write.Pa, write.Value, write.Width);
            return;
        }

        // The write faults on the write-protected frame: a #PF exit, whatever the handler then does (Xen's
        // shadow_fault, KVM's pf_taken).
        Count(Cnt.Fault);
        ulong linear = LinearFrame(write.Va, write.Pa);
        bool fast = XenFastEmulation(_v[write.Vcpu], linear, kernelWriteToPresent: !write.User);
        bool unshadow = !fast && _xen && write.User;
        if (!fast && _o.Oos && fs.MayUnsync)
        {
            // Xen "always unsync" (d067e4b077) / KVM mmu_try_to_unsync_pages: the write fault on a leaf table makes
            // it writable; this store and the following ones land natively until a resync. Xen unsyncs a user-mode
            // write's table too, then unshadows it below: the fault still takes the emulate path.
            _m.Oos.Unsync(write.Vcpu, gfn, fs);
            if (!unshadow)
            {
                _m.Oos.UnsyncFixed(write.Vcpu);
                Exit(OosUnsync);
                Machine.Memory.Store(write.Pa, write.Value, write.Width);
                UpdatePages();
                return;
            }
        }

        if (unshadow)
        {
            // sh_page_fault's emulate label: Xen never emulates a user-mode write to a page table; it takes the
            // write as a hint that the frame is no longer one, removes all its shadows and lets the write run.
            long freed = _m.Pool.Unshadow(gfn);
            Exit(UnshadowExit, freed);
            Machine.Memory.Store(write.Pa, write.Value, write.Width);
            UpdatePages();
            return;
        }

        KvmClearFloodAlong(write.Vcpu, write.Va);
        EmulateWrite(write.Vcpu, write.Pa, write.Width, write.Value, storeValue: true, linear, fast);
    }

    /// <summary>
    /// KVM <c>shadow_page_table_clear_flood</c>, called by <c>FNAME(page_fault)</c> before it emulates a write to
    /// a write-tracked frame: every shadow page on the faulting address's walk from the current root has its
    /// write-flooding count cleared, so the root a vCPU runs on never floods. With no linear address (va 0) only
    /// the root, the one page every walk meets, is known.
    /// </summary>
    public void KvmClearFloodAlong(int vcpu, ulong va)
    {
        if (_xen || _v[vcpu].Root is not { Dead: false } page)
        {
            return;
        }

        for (int level = Levels; ; level--)
        {
            page.Flood = 0;
            ulong e = page.E[Pte.Index(va, level)];
            if (va == 0 || level == 1 || !SEntry.IsLink(e))
            {
                return;
            }

            page = _store.Page(SEntry.Child(e));
        }
    }

    /// <summary>
    /// One emulated write to a write-protected table frame. Xen validates every shadow of the frame
    /// (<c>sh_validate_guest_entry</c>), skipping the aligned not-present → not-present case, then looks for an
    /// early unshadow. KVM zaps: the page on a misaligned or narrow write or on flooding (non-leaf pages), else
    /// the written entry.
    /// </summary>
    public void EmulateWrite(int vcpu, ulong pa, int width, ulong value, bool storeValue, ulong linear, bool fast)
    {
        ulong gfn = pa >> Pte.PageShift;
        var fs = _store.Frame(gfn)!;
        var vs = _v[vcpu];
        ulong old = Machine.Memory.ReadWord(pa);
        ulong now = storeValue ? Machine.Memory.Store(pa, value, width).New : old;
        int index = (int)((pa >> Pte.EntryShift) & Pte.IndexMask);
        Stats.EmulatedWrites++;
        long units = 0;
        bool changed = false;
        if (_xen)
        {
            Count(fast ? Cnt.FastEmulate : Cnt.EmulateWrite);
            bool aligned = (pa & 7) == 0 || (int)(pa & 7) + width <= 8;
            if (storeValue && aligned && (old & Pte.Present) == 0 && (now & Pte.Present) == 0)
            {
                Count(Cnt.VerifySkipped); // SHOPT_SKIP_VERIFY
            }
            else
            {
                foreach (var s in ShadowsOf(fs))
                {
                    if (!s.Dead)
                    {
                        ValidateEntry(s, index, now, out bool c);
                        changed |= c;
                        units++;
                    }
                }
            }

            Exit(fast ? FastEmulate : PtEmulate, units);
            if (changed)
            {
                FlushEverywhere();
            }

            // hvm.c sh_emulate_unmap_dest: a write of at least 4 bytes whose low 4 bytes are zero may unshadow if it
            // is PTE-aligned; a misaligned zero write neither counts nor resets the run (so REP MOVSD still counts).
            if (storeValue && width >= 4 && (uint)value == 0)
            {
                if ((pa & 7) == 0)
                {
                    CheckEarlyUnshadow(vs, gfn);
                }
            }
            else
            {
                vs.LastUnshadowFrame = VcpuShadow.None;
            }

            // sh_page_fault after x86_emulate: a slow-path emulation that leaves the frame a page table arms fast
            // emulation for its linear frame; a fast one that does not (early unshadow) disarms it.
            if (_store.Frame(gfn) is not null)
            {
                if (!fast)
                {
                    vs.LastWriteEmulOk = true;
                    vs.LastEmulLinear = linear;
                }
            }
            else if (fast)
            {
                vs.LastWriteEmulOk = false;
            }
        }
        else
        {
            Count(Cnt.EmulateWrite);
            Count(Cnt.PteWrite);
            bool misaligned = KvmMisaligned(pa, width);
            long zapped = 0;
            foreach (var s in ShadowsOf(fs))
            {
                if (s.Dead)
                {
                    continue;
                }

                bool flooded = !misaligned && s.Level > 1 && ++s.Flood >= 3;
                if (misaligned || flooded)
                {
                    // KVM's answer to fork/exit bursts (REFERENCES §3): the analogue of Xen's early unshadow.
                    Count(Cnt.Flooded);
                    Stats.Unshadows++;
                    zapped += _m.Pool.Zap(s);
                    continue;
                }

                if ((s.E[index] & SEntry.Present) != 0)
                {
                    if (s.Level > 1)
                    {
                        _store.Unlink(s, index);
                        if (now != 0)
                        {
                            Count(Cnt.PdeZapped);
                        }
                    }
                    else
                    {
                        s.E[index] = 0;
                    }

                    changed = true;
                    units++;
                }
                else
                {
                    s.E[index] = 0;
                }
            }

            Exit(PtEmulate, units);
            if (zapped > 0)
            {
                Within(UnshadowWithin, zapped);
            }

            if (changed || zapped > 0)
            {
                FlushEverywhere();
            }
        }

        UpdatePages();
    }

    /// <summary>
    /// The frame's shadows, copied into a reused list (validation and zaps may change the frame's own list while
    /// they run), so the emulated-write path allocates nothing per write. Not re-entrant: the caller's loop must not
    /// reach another <see cref="ShadowsOf"/>.
    /// </summary>
    private List<ShadowPage> ShadowsOf(FrameState fs)
    {
        _shadowScratch.Clear();
        _shadowScratch.AddRange(fs.Shadows);
        return _shadowScratch;
    }

    private readonly List<ShadowPage> _shadowScratch = [];

    /// <summary>
    /// The linear frame a page-table write went through (Xen's <c>va &gt;&gt; PAGE_SHIFT</c>). A <c>ptwrite</c> with no
    /// linear address (va 0, SPEC §1) is taken to go through the kernel's direct map, where linear and physical
    /// frames correspond one to one: it is keyed by its gfn, in a range no va &gt;&gt; 12 reaches.
    /// </summary>
    internal static ulong LinearFrame(ulong va, ulong pa) => va != 0 ? va >> Pte.PageShift : DirectMapLinear | (pa >> Pte.PageShift);

    private const ulong DirectMapLinear = 1UL << 63;

    /// <summary>
    /// Xen <c>sh_page_fault</c>'s first test: a fault on the linear frame of the last successful emulation goes
    /// straight to the emulator only with error code write|present (a kernel-mode write through a present,
    /// read-only shadow entry); any other fault on that frame clears <c>last_write_emul_ok</c>. Never with
    /// <see cref="ShadowOptions.FastEmulation"/> off (Xen built without <c>SHOPT_FAST_EMULATION</c>).
    /// </summary>
    public bool XenFastEmulation(VcpuShadow vs, ulong linear, bool kernelWriteToPresent)
    {
        if (!_xen || !_o.FastEmulation || !vs.LastWriteEmulOk || vs.LastEmulLinear != linear)
        {
            return false;
        }

        if (kernelWriteToPresent)
        {
            return true;
        }

        vs.LastWriteEmulOk = false;
        return false;
    }

    /// <summary>KVM <c>detect_write_misaligned</c>: crosses an entry, or narrower than 4 bytes unless a 1-byte aligned write.</summary>
    private static bool KvmMisaligned(ulong pa, int width)
    {
        ulong offset = pa & Pte.PageOffsetMask;
        if ((offset & 7) == 0 && width == 1)
        {
            return false;
        }

        bool crosses = ((offset ^ (offset + (ulong)width - 1)) & ~7UL) != 0;
        return crosses || width < 4;
    }

    /// <summary>
    /// Xen validation of one guest entry into shadow <paramref name="s"/> (<c>validate_gl1e</c> …
    /// <c>validate_gl4e</c>): a leaf entry is re-propagated; an upper entry links the existing shadow of what the
    /// guest entry now points to, or stays not present until a fault builds it. Returns the shadow entry's change.
    /// </summary>
    public void ValidateEntry(ShadowPage s, int index, ulong g, out bool changed)
    {
        ulong before = s.E[index];
        if (s.Level == 1)
        {
            _m.Faults.SetLeaf(s, index, _m.Faults.LeafFromGuest(g));
            changed = (before & SEntry.Present) != 0 && before != s.E[index];
            return;
        }

        ShadowPage? child = null;
        if ((g & (Pte.Present | Pte.Accessed)) == (Pte.Present | Pte.Accessed))
        {
            var (gfn, type) = ShadowFaults.ChildOf(g, s.Level);
            Count(Cnt.HashLookups);
            child = _store.Find(gfn, type);
            if (child is not null && _xen && !child.IsSplinter && _store.Frame(gfn) is { Oos: true })
            {
                _m.Oos.ResyncFull(gfn); // higher-level validation pulls an OOS L1 back into sync
            }
        }

        var old = _store.Unlink(s, index);
        if (child is not null && !child.Dead)
        {
            ShadowStore.Link(s, index, child, g);
        }

        if (old is not null)
        {
            _m.Pool.Release(old);
        }

        changed = (before & SEntry.Present) != 0 && before != s.E[index];
    }

    /// <summary>
    /// Xen <c>check_for_early_unshadow</c>: a second consecutive emulated zero write to one frame (or the first,
    /// for a vCPU told its process is dying) unshadows it — never a top-level table once the domain uses the hint.
    /// </summary>
    public void CheckEarlyUnshadow(VcpuShadow vs, ulong gfn)
    {
        var fs = _store.Frame(gfn);
        if (_o.EarlyUnshadow && fs is not null
            && (vs.Dying || (!_m.DyingOp && vs.LastUnshadowFrame == gfn))
            && !(_m.DyingOp && fs.Find(_m.Top) is not null))
        {
            Count(Cnt.EarlyUnshadow);
            long freed = _m.Pool.Unshadow(gfn);
            Within(UnshadowWithin, freed);
            UpdatePages();
        }

        vs.LastUnshadowFrame = gfn;
    }
}
