namespace Replay.Engines.Paging;

/// <summary>Effective permissions of a translation, combined over every level of the walk.</summary>
[Flags]
public enum Perms : byte
{
    None = 0,
    Write = 1,
    User = 2,
    Exec = 4,
}

/// <summary>
/// The translation an access used: the 4 KiB guest-physical page it reached (<see cref="Page"/>, the gpa of the
/// page's first byte; its frame number is <c>Page.Gfn</c>) and the effective permissions, or <see cref="Fault"/> when
/// the guest walk failed (a guest page fault). Two translations are equal exactly when the reference check
/// (<c>--verify</c>) accepts them.
/// </summary>
public readonly record struct Translation(Gpa Page, Perms Perms, bool Fault)
{
    public static readonly Translation GuestFault = new(0, Perms.None, true);

    /// <summary>The hot paths' form: <paramref name="pageGpa"/> is the raw gpa of the page (page-aligned), not a frame number.</summary>
    public Translation(ulong pageGpa, Perms perms, bool fault)
        : this(new Gpa(pageGpa), perms, fault)
    {
    }

    /// <summary>The gpa the access at <paramref name="va"/> reached: the page plus the va's offset in it.</summary>
    public Gpa Of(Gva va) => Page.Plus(va.PageOffset);

    public override string ToString() =>
        Fault ? "guest fault" : $"page 0x{Page.Value:x} {(Perms.HasFlag(Perms.Write) ? "rw" : "ro")}{(Perms.HasFlag(Perms.User) ? ",user" : ",kernel")}{(Perms.HasFlag(Perms.Exec) ? ",exec" : ",nx")}";
}
