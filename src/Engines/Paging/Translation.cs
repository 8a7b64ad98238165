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
/// The translation an access used: the 4 KiB guest-physical frame it reached and the effective permissions,
/// or <see cref="Fault"/> when the guest walk failed (a guest page fault). Two translations are equal
/// exactly when the reference check (<c>--verify</c>) accepts them.
/// </summary>
public readonly record struct Translation(ulong Frame, Perms Perms, bool Fault)
{
    public static readonly Translation GuestFault = new(0, Perms.None, true);

    public override string ToString() =>
        Fault ? "guest fault" : $"frame 0x{Frame:x} {(Perms.HasFlag(Perms.Write) ? "rw" : "ro")}{(Perms.HasFlag(Perms.User) ? ",user" : ",kernel")}{(Perms.HasFlag(Perms.Exec) ? ",exec" : ",nx")}";
}
