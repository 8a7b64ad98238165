namespace Replay.Engines.Contract;

/// <summary>
/// Marks a top-level, sealed, partial class implementing <see cref="IEngineHooks"/> (an engine or a part): the build
/// writes its nested <c>Hooks</c> struct, which forwards each hook to the class, for <see cref="ReplayLoop.Run{THooks}"/>
/// (src/Generators/HooksGenerator.cs). The loop takes the struct, not the class, because the JIT specialises a
/// generic method per value type (with direct, inlinable calls) but shares one body over every class.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class GenerateHooksAttribute : Attribute
{
}
